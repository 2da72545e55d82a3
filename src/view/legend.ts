import { html, type SafeHtml } from './html.ts';
import type { Swatch } from './palette.ts';

export interface LegendItem {
  readonly label: string;
  readonly swatch: Swatch;
  /** Shown after the label, e.g. the seconds of a cost term. */
  readonly detail?: string;
}

/** A list of colour keys; the text carries the meaning, the square only matches it to the chart. */
export function legend(items: readonly LegendItem[]): SafeHtml {
  return html`<ul class="legend">${items.map(
    (item) =>
      html`<li><svg width="14" height="14" aria-hidden="true"><rect x="0.5" y="0.5" width="13" height="13" fill="${item.swatch.fill}" stroke="#555"></rect></svg>${item.label}${item.detail === undefined ? '' : html`: <span>${item.detail}</span>`}</li>`,
  )}</ul>`;
}
