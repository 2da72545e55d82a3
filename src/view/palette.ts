/**
 * Okabe & Ito's colour-blind-safe palette (2008), with the text colour that stays legible on each.
 * Colour is never the only cue: every coloured mark also carries a label or a tooltip.
 */
export interface Swatch {
  readonly fill: string;
  readonly text: string;
}

const BLACK = '#000000';
const WHITE = '#ffffff';

export const OKABE_ITO = {
  orange: { fill: '#E69F00', text: BLACK },
  skyBlue: { fill: '#56B4E9', text: BLACK },
  bluishGreen: { fill: '#009E73', text: WHITE },
  yellow: { fill: '#F0E442', text: BLACK },
  blue: { fill: '#0072B2', text: WHITE },
  vermillion: { fill: '#D55E00', text: WHITE },
  reddishPurple: { fill: '#CC79A7', text: BLACK },
  grey: { fill: '#999999', text: BLACK },
  black: { fill: BLACK, text: WHITE },
} as const satisfies Record<string, Swatch>;

const SERIES: readonly Swatch[] = [
  OKABE_ITO.blue,
  OKABE_ITO.orange,
  OKABE_ITO.bluishGreen,
  OKABE_ITO.reddishPurple,
  OKABE_ITO.skyBlue,
  OKABE_ITO.vermillion,
  OKABE_ITO.yellow,
];

/** The colour of stage (or sweep group) `index`; past seven they repeat and the labels tell apart. */
export function seriesSwatch(index: number): Swatch {
  return SERIES[index % SERIES.length]!;
}
