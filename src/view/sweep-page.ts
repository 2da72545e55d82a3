import type { JobStatus, Sweep, SweepFrontier, SweepRow } from '../schema/index.ts';
import { formatBytes, formatCount, formatPercent, formatSec, sig } from './format.ts';
import { type ChartPoint, renderFrontierChart } from './frontier-chart.ts';
import { html, type SafeHtml } from './html.ts';
import { renderDocument } from './page-shell.ts';
import { FIELD_VIEWS } from './row-fields.ts';
import { plottedRows, pointValue, renderSweepChart, sweepAxes } from './sweep-chart.ts';

export interface SweepPageOptions {
  /** Where each plan's page is; relative URLs resolve against the sweep page's own. */
  readonly planUrl: (jobId: string) => string;
  /** Reload after this many seconds (a sweep with unfinished points). */
  readonly refreshSec?: number;
  /** The sweep's frontier over two fields, drawn over every row that has both. */
  readonly frontier?: SweepFrontier;
}

const STATUSES: readonly JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

function numberCell(value: number | null, shown: (v: number) => string): SafeHtml {
  return value === null
    ? html`<td class="num" data-sort-value="-1">–</td>`
    : html`<td class="num" data-sort-value="${value}">${shown(value)}</td>`;
}

/** Columns a request fills only when it gives tokens (days) or a price (dollars). */
const COST_FIELDS = ['trainingDays', 'costUsd'] as const;

function rowsTable(rows: readonly SweepRow[], fields: readonly string[], planUrl: (id: string) => string) {
  const costs = COST_FIELDS.filter((f) => rows.some((r) => r[f] !== null));
  const heads = [
    ...fields.map((f) => ({ label: f, numeric: false })),
    { label: 'Status', numeric: false },
    { label: 'GPUs', numeric: true },
    { label: 'Step time', numeric: true },
    { label: 'Tokens/s', numeric: true },
    { label: 'TFLOP/s per GPU', numeric: true },
    { label: 'MFU', numeric: true },
    { label: 'Peak memory', numeric: true },
    ...costs.map((f) => ({ label: FIELD_VIEWS[f].label, numeric: true })),
    { label: 'dp × tp × pp', numeric: false },
    { label: 'Plan', numeric: false },
  ];
  const body = rows.map((r) => {
    const status = r.planStatus === null ? r.status : `${r.status} (${r.planStatus})`;
    const shape = r.dp === null ? '–' : `${r.dp} × ${r.tp} × ${r.pp}`;
    return html`<tr data-job-id="${r.jobId}">${fields.map((f) => html`<td${typeof r.point[f] === 'number' ? html` class="num" data-sort-value="${r.point[f] as number}"` : ''}>${f in r.point ? pointValue(r.point[f]) : '–'}</td>`)}<td>${status}</td>${numberCell(r.gpus, formatCount)}${numberCell(r.stepTimeSec, formatSec)}${numberCell(r.tokensPerSec, formatCount)}${numberCell(r.tflopsPerDevice, sig)}${numberCell(r.mfu, formatPercent)}${numberCell(r.peakMemoryBytes, formatBytes)}${costs.map((f) => numberCell(r[f], FIELD_VIEWS[f].format))}<td>${shape}</td><td><a href="${planUrl(r.jobId)}">view</a></td></tr>`;
  });
  return html`<table id="sweep-rows" data-sortable><caption class="note">One row per grid point; click a header to sort.</caption>
<thead><tr>${heads.map((h) => html`<th scope="col"${h.numeric ? html` class="num"` : ''}><button type="button">${h.label}</button></th>`)}</tr></thead>
<tbody>${body}</tbody></table>`;
}

/** The frontier's two axes over every row that has both, the frontier's rows marked. */
function frontierSection(sweep: Sweep, frontier: SweepFrontier, planUrl: (id: string) => string): SafeHtml {
  const x = frontier.axes[0]!.field;
  const y = frontier.axes[1]!.field;
  const xView = FIELD_VIEWS[x];
  const yView = FIELD_VIEWS[y];
  const front = new Set(frontier.rows.map((r) => r.jobId));
  const points: ChartPoint[] = sweep.rows.flatMap((r) => {
    const [xv, yv] = [r[x], r[y]];
    if (xv === null || yv === null) return [];
    const where = Object.entries(r.point)
      .map(([k, v]) => `${k} = ${pointValue(v)}`)
      .join(', ');
    const onFrontier = front.has(r.jobId);
    const tip = `${where}: ${xView.label} ${xView.format(xv)}, ${yView.label} ${yView.format(yv)} (dp ${r.dp}, tp ${r.tp}, pp ${r.pp})${onFrontier ? ', on the frontier' : ''}; open the plan`;
    return [{ x: xv, y: yv, onFrontier, tip, href: planUrl(r.jobId), jobId: r.jobId }];
  });
  const heading = `Frontier: ${yView.label.toLowerCase()} against ${xView.label.toLowerCase()}`;
  const chart =
    points.length === 0
      ? html`<p class="explain">No finished plan with both values yet: no frontier.</p>`
      : html`<figure><figcaption>${front.size} of ${points.length} plans are on the frontier (blue, joined): no other plan is better on both axes. Grey plans are beaten on both by one on the frontier. Other fields: <code>GET /v1/sweeps/${sweep.id}/frontier?x=…&amp;y=…</code>.</figcaption>
${renderFrontierChart({ id: 'frontier-chart', x, y, points })}</figure>`;
  return html`<section aria-labelledby="frontier-heading"><h2 id="frontier-heading">${heading}</h2>
${chart}
</section>`;
}

/** The page of a sweep: the metric against the swept field, and every row. Self-contained HTML. */
export function renderSweepPage(sweep: Sweep, options: SweepPageOptions): string {
  const axes = sweepAxes(sweep.rows);
  const fields = [...new Set(sweep.rows.flatMap((r) => Object.keys(r.point)))];
  const plotted = plottedRows(sweep.rows, axes.metric).length;
  const unplotted = sweep.rows.length - plotted;
  const counts = STATUSES.filter((s) => (sweep.counts[s] ?? 0) > 0)
    .map((s) => `${sweep.counts[s]} ${s}`)
    .join(', ');
  const refresh =
    options.refreshSec === undefined
      ? ''
      : html` This page reloads every ${options.refreshSec} seconds until every point has finished.`;
  const body = html`<header>
<h1>meshplan sweep <code>${sweep.id}</code></h1>
<p class="note">${formatCount(sweep.points)} points: ${counts || 'none yet'}. ${plotted} plotted${unplotted > 0 ? html`; ${unplotted} not plotted (unfinished, failed or without a plan)` : ''}.${refresh}</p>
</header>
<main data-points="${sweep.points}">
<section aria-labelledby="chart-heading"><h2 id="chart-heading">${axes.metric === 'tokensPerSec' ? 'Tokens per second' : 'Step time'} by ${axes.xField ?? 'point'}</h2>
${renderSweepChart(sweep.rows, axes, options.planUrl)}
</section>
${options.frontier === undefined ? '' : frontierSection(sweep, options.frontier, options.planUrl)}
<section aria-labelledby="rows-heading"><h2 id="rows-heading">Rows</h2>
${rowsTable(sweep.rows, fields, options.planUrl)}
</section>
</main>`;
  return renderDocument({
    title: `meshplan sweep ${sweep.id}`,
    body,
    ...(options.refreshSec === undefined ? {} : { refreshSec: options.refreshSec }),
  });
}
