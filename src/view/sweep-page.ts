import type { JobStatus, Sweep, SweepRow } from '../schema/index.ts';
import { formatBytes, formatCount, formatPercent, formatSec, sig } from './format.ts';
import { html, type SafeHtml } from './html.ts';
import { renderDocument } from './page-shell.ts';
import { plottedRows, pointValue, renderSweepChart, sweepAxes } from './sweep-chart.ts';

export interface SweepPageOptions {
  /** Where each plan's page is; relative URLs resolve against the sweep page's own. */
  readonly planUrl: (jobId: string) => string;
  /** Reload after this many seconds (a sweep with unfinished points). */
  readonly refreshSec?: number;
}

const STATUSES: readonly JobStatus[] = ['queued', 'running', 'succeeded', 'failed', 'cancelled'];

function numberCell(value: number | null, shown: (v: number) => string): SafeHtml {
  return value === null
    ? html`<td class="num" data-sort-value="-1">–</td>`
    : html`<td class="num" data-sort-value="${value}">${shown(value)}</td>`;
}

function rowsTable(rows: readonly SweepRow[], fields: readonly string[], planUrl: (id: string) => string) {
  const heads = [
    ...fields.map((f) => ({ label: f, numeric: false })),
    { label: 'Status', numeric: false },
    { label: 'Step time', numeric: true },
    { label: 'Tokens/s', numeric: true },
    { label: 'TFLOP/s per GPU', numeric: true },
    { label: 'MFU', numeric: true },
    { label: 'Peak memory', numeric: true },
    { label: 'dp × tp × pp', numeric: false },
    { label: 'Plan', numeric: false },
  ];
  const body = rows.map((r) => {
    const status = r.planStatus === null ? r.status : `${r.status} (${r.planStatus})`;
    const shape = r.dp === null ? '–' : `${r.dp} × ${r.tp} × ${r.pp}`;
    return html`<tr data-job-id="${r.jobId}">${fields.map((f) => html`<td${typeof r.point[f] === 'number' ? html` class="num" data-sort-value="${r.point[f] as number}"` : ''}>${f in r.point ? pointValue(r.point[f]) : '–'}</td>`)}<td>${status}</td>${numberCell(r.stepTimeSec, formatSec)}${numberCell(r.tokensPerSec, formatCount)}${numberCell(r.tflopsPerDevice, sig)}${numberCell(r.mfu, formatPercent)}${numberCell(r.peakMemoryBytes, formatBytes)}<td>${shape}</td><td><a href="${planUrl(r.jobId)}">view</a></td></tr>`;
  });
  return html`<table id="sweep-rows" data-sortable><caption class="note">One row per grid point; click a header to sort.</caption>
<thead><tr>${heads.map((h) => html`<th scope="col"${h.numeric ? html` class="num"` : ''}><button type="button">${h.label}</button></th>`)}</tr></thead>
<tbody>${body}</tbody></table>`;
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
