/**
 * A Pareto frontier drawn over its cloud of points (issue 18): every point, the non-dominated ones
 * joined by the staircase that bounds what they dominate. The sweep page draws its rows, the plan
 * page its alternatives; which way is better on each axis comes from ROW_DIRECTIONS.
 */
import { type FrontierField, ROW_DIRECTIONS } from '../schema/index.ts';
import { linearScale, niceTicks } from './axis.ts';
import { html, type SafeHtml } from './html.ts';
import { OKABE_ITO } from './palette.ts';
import { FIELD_VIEWS } from './row-fields.ts';

export interface ChartPoint {
  readonly x: number;
  readonly y: number;
  readonly onFrontier: boolean;
  /** The plan itself, among its alternatives. */
  readonly chosen?: boolean;
  /** What the point is, for its tooltip and screen readers. */
  readonly tip: string;
  readonly href?: string;
  readonly jobId?: string;
}

export interface FrontierChart {
  readonly id: string;
  readonly x: FrontierField;
  readonly y: FrontierField;
  readonly points: readonly ChartPoint[];
}

const LEFT = 90;
const PLOT_W = 860;
const TOP = 12;
const PLOT_H = 320;

interface Scale {
  readonly at: (value: number) => number;
  readonly ticks: readonly number[];
  readonly log: boolean;
}

/** Decades of 1, 2 and 5 inside [min, max]; the ends themselves when fewer than two fall inside. */
function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let decade = Math.floor(Math.log10(min)); 10 ** decade <= max; decade++) {
    for (const m of [1, 2, 5]) {
      const t = Number((m * 10 ** decade).toPrecision(12));
      if (t >= min && t <= max) ticks.push(t);
    }
  }
  return ticks.length >= 2 ? ticks : [min, max];
}

/** Values spanning 16× or more (GPUs, days, dollars across cluster sizes) get a log axis. */
function scale(values: readonly number[], r0: number, r1: number): Scale {
  const min = Math.min(...values);
  const max = Math.max(...values);
  const log = min > 0 && max / min >= 16;
  const f = log ? Math.log10 : (v: number) => v;
  const pad = (f(max) - f(min)) * 0.06 || Math.abs(f(max)) * 0.1 || 1;
  const at = linearScale(f(min) - pad, f(max) + pad, r0, r1);
  return { at: (v) => at(f(v)), ticks: log ? logTicks(min, max) : niceTicks(min, max, 6), log };
}

/** `a` or `b`, whichever is worse on a field going `direction`. */
function worse(a: number, b: number, field: FrontierField): number {
  return ROW_DIRECTIONS[field] === 'min' ? Math.max(a, b) : Math.min(a, b);
}

/**
 * The boundary of the region the frontier dominates: between two neighbours (by x) it turns at
 * the corner that is worse than both on each axis.
 */
function staircase(chart: FrontierChart): { x: number; y: number }[] {
  const front = chart.points.filter((p) => p.onFrontier).sort((a, b) => a.x - b.x || a.y - b.y);
  return front.flatMap((p, i) => {
    const prev = front[i - 1];
    if (prev === undefined) return [p];
    return [{ x: worse(prev.x, p.x, chart.x), y: worse(prev.y, p.y, chart.y) }, p];
  });
}

function axisName(field: FrontierField, log: boolean): string {
  const better = ROW_DIRECTIONS[field] === 'min' ? 'lower is better' : 'higher is better';
  return `${FIELD_VIEWS[field].label} (${better}${log ? ', log scale' : ''})`;
}

function mark(p: ChartPoint, cx: number, cy: number): SafeHtml {
  const style = p.chosen
    ? html`r="8" fill="${OKABE_ITO.orange.fill}" stroke="#000" stroke-width="2"`
    : p.onFrontier
      ? html`r="6" fill="${OKABE_ITO.blue.fill}" stroke="#222" stroke-width="1"`
      : html`r="4" fill="${OKABE_ITO.grey.fill}" stroke="#555" stroke-width="0.5"`;
  const circle = html`<title>${p.tip}</title><circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" ${style}></circle>`;
  const data = html` data-frontier="${String(p.onFrontier)}"${p.jobId === undefined ? '' : html` data-job-id="${p.jobId}"`}${p.chosen ? html` data-chosen="true"` : ''}`;
  return p.href === undefined
    ? html`<g class="frontier-point"${data} role="img" aria-label="${p.tip}">${circle}</g>`
    : html`<a class="frontier-point" href="${p.href}"${data} aria-label="${p.tip}">${circle}</a>`;
}

/** The chart: grey points dominated, blue ones on the frontier (orange: the plan), the staircase. */
export function renderFrontierChart(chart: FrontierChart): SafeHtml {
  const { points } = chart;
  const x = scale(
    points.map((p) => p.x),
    LEFT,
    LEFT + PLOT_W,
  );
  const y = scale(
    points.map((p) => p.y),
    TOP + PLOT_H,
    TOP,
  );
  const xView = FIELD_VIEWS[chart.x];
  const yView = FIELD_VIEWS[chart.y];
  const grid = y.ticks.map(
    (t) =>
      html`<line class="grid" x1="${LEFT}" x2="${LEFT + PLOT_W}" y1="${y.at(t).toFixed(1)}" y2="${y.at(t).toFixed(1)}"></line><text x="${LEFT - 6}" y="${(y.at(t) + 4).toFixed(1)}" text-anchor="end">${yView.format(t)}</text>`,
  );
  const xTicks = x.ticks.map(
    (t) =>
      html`<line class="axis" x1="${x.at(t).toFixed(1)}" x2="${x.at(t).toFixed(1)}" y1="${TOP + PLOT_H}" y2="${TOP + PLOT_H + 5}"></line><text x="${x.at(t).toFixed(1)}" y="${TOP + PLOT_H + 18}" text-anchor="middle">${xView.format(t)}</text>`,
  );
  const steps = staircase(chart)
    .map((p) => `${x.at(p.x).toFixed(1)},${y.at(p.y).toFixed(1)}`)
    .join(' ');
  // Dominated points first, so the frontier's marks sit on top.
  const ordered = [...points].sort((a, b) => Number(a.onFrontier) - Number(b.onFrontier));
  const height = TOP + PLOT_H + 44;
  const width = LEFT + PLOT_W + 20;
  const xName = axisName(chart.x, x.log);
  const yName = axisName(chart.y, y.log);
  const onFrontier = points.filter((p) => p.onFrontier).length;
  return html`<svg id="${chart.id}" class="frontier-chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="group" aria-label="${yName} against ${xName}: ${onFrontier} of ${points.length} points on the frontier">
${grid}${xTicks}
<line class="axis" x1="${LEFT}" x2="${LEFT}" y1="${TOP}" y2="${TOP + PLOT_H}"></line>
<line class="axis" x1="${LEFT}" x2="${LEFT + PLOT_W}" y1="${TOP + PLOT_H}" y2="${TOP + PLOT_H}"></line>
<text x="${LEFT + PLOT_W / 2}" y="${height - 4}" text-anchor="middle">${xName}</text>
<text transform="rotate(-90)" x="${-(TOP + PLOT_H / 2)}" y="14" text-anchor="middle">${yName}</text>
<polyline class="staircase" fill="none" stroke="${OKABE_ITO.blue.fill}" stroke-width="2" points="${steps}"></polyline>
${ordered.map((p) => mark(p, x.at(p.x), y.at(p.y)))}
</svg>`;
}
