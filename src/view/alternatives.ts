/**
 * A plan's alternatives (issue 18): the configurations the search completed that no other beats on
 * both step time and memory per GPU, drawn as a frontier with the plan marked, and listed.
 */
import type { Alternative, Plan, Summary } from '../schema/index.ts';
import { formatBytes, formatCount, formatPercent, formatSec, formatZero } from './format.ts';
import { type ChartPoint, renderFrontierChart } from './frontier-chart.ts';
import { html, type SafeHtml } from './html.ts';
import { FIELD_VIEWS } from './row-fields.ts';

function configuration(s: Summary): string {
  const schedule = s.virtualStages > 1 ? `${s.schedule} ×${s.virtualStages}` : s.schedule;
  return `dp ${s.dp} × tp ${s.tp} × pp ${s.pp}, microbatch ${s.microBatch}, recompute ${s.recompute}, ZeRO ${formatZero(s)}, ${schedule}`;
}

function table(alternatives: readonly Alternative[]): SafeHtml {
  const costs = (['trainingDays', 'costUsd'] as const).filter((f) =>
    alternatives.some((a) => a.summary[f] !== undefined),
  );
  const cell = (value: number | undefined, shown: (v: number) => string) =>
    value === undefined
      ? html`<td class="num">–</td>`
      : html`<td class="num" data-sort-value="${value}">${shown(value)}</td>`;
  const rows = alternatives.map(({ summary: s, chosen }) => {
    const name = html`${configuration(s)}${chosen ? html` <strong>(this plan)</strong>` : ''}`;
    return html`<tr${chosen ? html` data-chosen="true"` : ''}><td>${name}</td>${cell(s.stepTimeSec, formatSec)}${cell(s.peakMemoryBytes, formatBytes)}${cell(s.tokensPerSec, formatCount)}${cell(s.mfu, formatPercent)}${costs.map((f) => cell(s[f], FIELD_VIEWS[f].format))}</tr>`;
  });
  const heads = [
    'Step time',
    'Peak memory per GPU',
    'Tokens/s',
    'MFU',
    ...costs.map((f) => FIELD_VIEWS[f].label),
  ];
  return html`<table id="alternatives" data-sortable><caption class="note">Fastest first; click a header to sort.</caption>
<thead><tr><th scope="col"><button type="button">Configuration</button></th>${heads.map((h) => html`<th scope="col" class="num"><button type="button">${h}</button></th>`)}</tr></thead>
<tbody>${rows}</tbody></table>`;
}

export function renderAlternatives(plan: Plan): SafeHtml {
  const { alternatives } = plan;
  if (alternatives.length <= 1) {
    return html`<p class="note">No other configuration the search completed is faster or needs less memory per GPU than this plan.</p>`;
  }
  const points: ChartPoint[] = alternatives.map(({ summary: s, chosen }) => ({
    x: s.stepTimeSec,
    y: s.peakMemoryBytes,
    onFrontier: true,
    chosen,
    tip: `${configuration(s)}: ${formatSec(s.stepTimeSec)} per step, ${formatBytes(s.peakMemoryBytes)} per GPU${chosen ? ' (this plan)' : ''}`,
  }));
  return html`<figure><figcaption>${alternatives.length} configurations the search completed that no other beats on both step time and memory per GPU (TensorOpt's frontier); the plan in orange. A slower one can pay for headroom: a larger model, longer sequences, or GPUs with less memory.</figcaption>
${renderFrontierChart({ id: 'alternatives-chart', x: 'stepTimeSec', y: 'peakMemoryBytes', points })}</figure>
${table(alternatives)}`;
}
