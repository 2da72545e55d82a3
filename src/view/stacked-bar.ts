import { formatPercent } from './format.ts';
import { html, type SafeHtml } from './html.ts';
import type { Swatch } from './palette.ts';

export interface Term {
  readonly key: string;
  readonly label: string;
  readonly value: number;
  readonly swatch: Swatch;
}

/** The segments of a stacked horizontal bar: each term's share of `whole`, with its own tooltip. */
export function stackSegments(
  terms: readonly Term[],
  whole: number,
  box: { x: number; y: number; width: number; height: number },
  unit: (v: number) => string,
): SafeHtml {
  let at = 0;
  return html`<rect class="track" x="${box.x}" y="${box.y}" width="${box.width}" height="${box.height}"></rect>${terms
    .filter((t) => t.value > 0)
    .map((t) => {
      const x = box.x + (at / whole) * box.width;
      at += t.value;
      const w = Math.max(0.5, (t.value / whole) * box.width);
      return html`<rect data-term="${t.key}" data-value="${t.value}" x="${x.toFixed(2)}" y="${box.y}" width="${w.toFixed(2)}" height="${box.height}" fill="${t.swatch.fill}" stroke="#fff" stroke-width="0.5"><title>${t.label}: ${unit(t.value)} (${formatPercent(t.value / whole)})</title></rect>`;
    })}<rect class="frame" x="${box.x + 0.5}" y="${box.y}" width="${box.width - 1}" height="${box.height}"></rect>`;
}
