import type { SweepRow } from '../schema/index.ts';
import { linearScale, niceTicks, niceTicksCovering } from './axis.ts';
import { formatCount, formatSec, sig } from './format.ts';
import { html, type SafeHtml } from './html.ts';
import { legend } from './legend.ts';
import { seriesSwatch } from './palette.ts';

export type SweepMetric = 'tokensPerSec' | 'stepTimeSec';

/** How a grid value prints: strings as they are, anything else as JSON. */
export function pointValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export interface SweepAxes {
  /** The grid path on x: the first one whose values are all numbers, else the first one. */
  readonly xField: string | null;
  readonly numericX: boolean;
  /** The other grid paths; each combination of their values is one series. */
  readonly groupFields: readonly string[];
  readonly metric: SweepMetric;
}

export function sweepAxes(rows: readonly SweepRow[]): SweepAxes {
  const fields = [...new Set(rows.flatMap((r) => Object.keys(r.point)))];
  const numeric = fields.find((f) => rows.every((r) => typeof r.point[f] === 'number'));
  const xField = numeric ?? fields[0] ?? null;
  return {
    xField,
    numericX: numeric !== undefined,
    groupFields: fields.filter((f) => f !== xField),
    metric: rows.some((r) => r.tokensPerSec !== null) ? 'tokensPerSec' : 'stepTimeSec',
  };
}

/** A finished plan with the metric: what the chart plots, one point each. */
export function plottedRows(rows: readonly SweepRow[], metric: SweepMetric): SweepRow[] {
  return rows.filter((r) => r.status === 'succeeded' && r[metric] !== null);
}

const LEFT = 90;
const PLOT_W = 860;
const TOP = 12;
const PLOT_H = 320;

function xScale(rows: readonly SweepRow[], axes: SweepAxes) {
  const field = axes.xField;
  const raw = rows.map((r) => (field === null ? '' : r.point[field]));
  if (!axes.numericX) {
    const categories = [...new Set(raw.map(pointValue))];
    const at = linearScale(-0.5, categories.length - 0.5, LEFT, LEFT + PLOT_W);
    const ticks = categories.map((c, i) => ({ at: at(i), label: c }));
    return { position: (v: unknown) => at(categories.indexOf(pointValue(v))), ticks, log: false };
  }
  const xs = raw as number[];
  const min = Math.min(...xs);
  const max = Math.max(...xs);
  // Grids over devices or batch sizes double at each step: a log axis spaces them evenly.
  const log = min > 0 && max / min >= 16;
  const f = log ? Math.log2 : (v: number) => v;
  const pad = (f(max) - f(min)) * 0.05 || 1;
  const at = linearScale(f(min) - pad, f(max) + pad, LEFT, LEFT + PLOT_W);
  const distinct = [...new Set(xs)].sort((a, b) => a - b);
  const tickValues =
    distinct.length <= 12 ? distinct : log ? distinct.filter((_, i) => i % 2 === 0) : niceTicks(min, max, 8);
  const ticks = tickValues.map((v) => ({
    at: at(f(v)),
    label: Number.isInteger(v) ? formatCount(v) : sig(v),
  }));
  return { position: (v: unknown) => at(f(v as number)), ticks, log };
}

/** One point per finished plan, each a link to its page; a line per group of the other grid paths. */
export function renderSweepChart(
  rows: readonly SweepRow[],
  axes: SweepAxes,
  planUrl: (jobId: string) => string,
): SafeHtml {
  const points = plottedRows(rows, axes.metric);
  if (points.length === 0) return html`<p class="explain">No finished plan yet: nothing to plot.</p>`;
  const x = xScale(points, axes);
  const ys = points.map((r) => r[axes.metric]!);
  const yTicks = niceTicksCovering(0, Math.max(...ys), 6);
  const y = linearScale(0, yTicks[yTicks.length - 1]! || 1, TOP + PLOT_H, TOP);
  const yLabel = axes.metric === 'tokensPerSec' ? 'tokens per second' : 'step time';
  const yText = (v: number) => (axes.metric === 'tokensPerSec' ? formatCount(v) : formatSec(v));
  const groupOf = (r: SweepRow) => axes.groupFields.map((f) => `${f} = ${pointValue(r.point[f])}`).join(', ');
  const groups = [...new Set(points.map(groupOf))];

  const series = groups.map((group, g) => {
    const swatch = seriesSwatch(g);
    const members = points.filter((r) => groupOf(r) === group);
    const ordered = axes.numericX
      ? [...members].sort((a, b) => (a.point[axes.xField!] as number) - (b.point[axes.xField!] as number))
      : members;
    const line =
      axes.numericX && ordered.length > 1
        ? html`<polyline fill="none" stroke="${swatch.fill}" stroke-width="2" points="${ordered.map((r) => `${x.position(r.point[axes.xField!]).toFixed(1)},${y(r[axes.metric]!).toFixed(1)}`).join(' ')}"></polyline>`
        : '';
    const dots = ordered.map((r) => {
      const where = Object.entries(r.point)
        .map(([k, v]) => `${k} = ${pointValue(v)}`)
        .join(', ');
      const tip = `${where}: ${yText(r[axes.metric]!)} ${axes.metric === 'tokensPerSec' ? 'tokens/s' : 'per step'} (dp ${r.dp}, tp ${r.tp}, pp ${r.pp}); open the plan`;
      return html`<a class="point" href="${planUrl(r.jobId)}" data-job-id="${r.jobId}" aria-label="${tip}"><title>${tip}</title><circle cx="${x.position(axes.xField === null ? '' : r.point[axes.xField]).toFixed(1)}" cy="${y(r[axes.metric]!).toFixed(1)}" r="6" fill="${swatch.fill}" stroke="#222" stroke-width="1"></circle></a>`;
    });
    return html`<g class="series" data-group="${group}">${line}${dots}</g>`;
  });
  const grid = yTicks.map(
    (t) =>
      html`<line class="grid" x1="${LEFT}" x2="${LEFT + PLOT_W}" y1="${y(t).toFixed(1)}" y2="${y(t).toFixed(1)}"></line><text x="${LEFT - 6}" y="${(y(t) + 4).toFixed(1)}" text-anchor="end">${yText(t)}</text>`,
  );
  const xTicks = x.ticks.map(
    (t) =>
      html`<line class="axis" x1="${t.at.toFixed(1)}" x2="${t.at.toFixed(1)}" y1="${TOP + PLOT_H}" y2="${TOP + PLOT_H + 5}"></line><text x="${t.at.toFixed(1)}" y="${TOP + PLOT_H + 18}" text-anchor="middle">${t.label}</text>`,
  );
  const xName = `${axes.xField ?? 'point'}${x.log ? ' (log scale)' : ''}`;
  const height = TOP + PLOT_H + 44;
  const width = LEFT + PLOT_W + 20;
  return html`<figure>
<figcaption>${axes.metric === 'tokensPerSec' ? 'Tokens per second' : 'Step time'} against <code>${axes.xField ?? 'point'}</code>, one point per finished plan (click a point to open its plan)${groups.length > 1 ? '; one line per combination of the other grid values' : ''}.</figcaption>
${groups.length > 1 || groups[0] !== '' ? legend(groups.map((g, i) => ({ label: g === '' ? 'all points' : g, swatch: seriesSwatch(i) }))) : ''}
<svg id="sweep-chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="group" aria-label="${yLabel} against ${xName}, ${points.length} plans">
${grid}${xTicks}
<line class="axis" x1="${LEFT}" x2="${LEFT}" y1="${TOP}" y2="${TOP + PLOT_H}"></line>
<line class="axis" x1="${LEFT}" x2="${LEFT + PLOT_W}" y1="${TOP + PLOT_H}" y2="${TOP + PLOT_H}"></line>
<text x="${LEFT + PLOT_W / 2}" y="${height - 4}" text-anchor="middle">${xName}</text>
<text transform="rotate(-90)" x="${-(TOP + PLOT_H / 2)}" y="14" text-anchor="middle">${yLabel}</text>
${series}
</svg>
</figure>`;
}
