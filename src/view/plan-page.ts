import type { Plan, Summary } from '../schema/index.ts';
import { renderAlternatives } from './alternatives.ts';
import { renderClusterMap } from './cluster-map.ts';
import { renderCostBreakdown } from './cost.ts';
import { renderExports } from './exports-panel.ts';
import { formatBytes, formatCount, formatPercent, formatSec, formatZero, sig } from './format.ts';
import { html, type SafeHtml } from './html.ts';
import { renderMemory } from './memory.ts';
import { renderOpTables } from './op-table.ts';
import { renderDocument } from './page-shell.ts';
import type { NodeShape } from './placement.ts';
import { FIELD_VIEWS } from './row-fields.ts';
import { renderTimeline } from './timeline.ts';

export interface PlanPageJob {
  readonly id?: string;
  readonly plan: Plan;
  /** The plan request, when known (the CLI has it): names the model and gives the node shape. */
  readonly request?: unknown;
}

interface RequestFacts {
  readonly modelName: string | null;
  readonly nodeShape: NodeShape | null;
}

const positiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

/** What the page reads from a request it does not validate (it may be any JSON). */
function requestFacts(request: unknown): RequestFacts {
  const r = (typeof request === 'object' && request !== null ? request : {}) as Record<string, unknown>;
  const model = (typeof r.model === 'object' && r.model !== null ? r.model : {}) as Record<string, unknown>;
  const cluster = (typeof r.cluster === 'object' && r.cluster !== null ? r.cluster : {}) as Record<
    string,
    unknown
  >;
  return {
    modelName: typeof model.name === 'string' && model.name !== '' ? model.name : null,
    nodeShape:
      positiveInt(cluster.nodes) && positiveInt(cluster.gpusPerNode)
        ? { nodes: cluster.nodes, gpusPerNode: cluster.gpusPerNode }
        : null,
  };
}

function metric(key: string, label: string, value: number | string | boolean, shown: string): SafeHtml {
  return html`<div><dt>${label}</dt><dd data-metric="${key}" data-value="${String(value)}">${shown}</dd></div>`;
}

function summaryMetrics(summary: Summary): SafeHtml {
  return html`<dl class="metrics" id="summary">
${metric('stepTimeSec', 'Step time', summary.stepTimeSec, formatSec(summary.stepTimeSec))}
${metric('tokensPerSec', 'Tokens per second', summary.tokensPerSec, formatCount(summary.tokensPerSec))}
${metric('tflopsPerDevice', 'Model TFLOP/s per GPU', summary.tflopsPerDevice, sig(summary.tflopsPerDevice))}
${metric('mfu', 'MFU', summary.mfu, formatPercent(summary.mfu))}
${metric('peakMemoryBytes', 'Peak memory per GPU', summary.peakMemoryBytes, formatBytes(summary.peakMemoryBytes))}
${metric('dp', 'Data parallel', summary.dp, String(summary.dp))}
${metric('tp', 'Tensor parallel', summary.tp, String(summary.tp))}
${metric('pp', 'Pipeline stages', summary.pp, String(summary.pp))}
${metric('microBatch', 'Microbatch size', summary.microBatch, String(summary.microBatch))}
${metric('microbatches', 'Microbatches per step', summary.microbatches, formatCount(summary.microbatches))}
${metric('schedule', 'Schedule', summary.schedule, summary.virtualStages > 1 ? `${summary.schedule} (${summary.virtualStages} chunks)` : summary.schedule)}
${metric('recompute', 'Recomputation', summary.recompute, summary.recomputeModules ? `${summary.recompute}: ${summary.recomputeModules.join(', ')}` : summary.recompute)}
${metric('zero', 'ZeRO stage', summary.zero, formatZero(summary))}
${metric('sequenceParallel', 'Sequence parallel', summary.sequenceParallel, summary.sequenceParallel ? 'yes' : 'no')}
${metric('gpus', 'GPUs', summary.gpus, formatCount(summary.gpus))}
${summary.trainingDays === undefined ? '' : metric('trainingDays', FIELD_VIEWS.trainingDays.label, summary.trainingDays, FIELD_VIEWS.trainingDays.format(summary.trainingDays))}
${summary.gpuHours === undefined ? '' : metric('gpuHours', summary.trainingDays === undefined ? 'GPU-hours per step' : 'GPU-hours', summary.gpuHours, FIELD_VIEWS.gpuHours.format(summary.gpuHours))}
${summary.costUsd === undefined ? '' : metric('costUsd', summary.trainingDays === undefined ? 'Cost per step' : 'Cost of training', summary.costUsd, FIELD_VIEWS.costUsd.format(summary.costUsd))}
</dl>`;
}

function solverFooter(plan: Plan): SafeHtml {
  const { solver } = plan;
  return html`<h2 id="assumptions-heading">Assumptions and search</h2>
<p class="note">Solver: ${solver.status}; ${formatCount(solver.configurationsTried)} configurations tried, ${formatCount(solver.ilpSolves)} ILP solves, ${formatCount(solver.dpStates)} stage-DP states, ${formatSec(solver.wallSec)} of search.</p>
<ul class="note">${plan.assumptions.map((a) => html`<li>${a}</li>`)}</ul>`;
}

/** No plan to draw: say why, and by how much memory it missed, instead of empty charts. */
function unplannedBody(plan: Plan): SafeHtml {
  const shortfall =
    plan.shortfallBytes === undefined
      ? ''
      : html`<p>Shortfall: the configuration closest to fitting needs <strong data-shortfall-bytes="${plan.shortfallBytes}">${formatBytes(plan.shortfallBytes)}</strong> (${formatCount(plan.shortfallBytes)} bytes) more per GPU than the usable memory.</p>
<p>To make it fit: more GPUs (more pipeline stages or data-parallel ZeRO sharding to spread the model over), GPUs with at least that much more memory, a smaller model or sequence, or a larger <code>options.memoryHeadroom</code> if the framework leaves more memory free. The search already escalates activation recomputation and ZeRO as far as needed unless the request pins them.</p>`;
  return html`<section class="explain" id="unplanned" aria-labelledby="unplanned-heading">
<h2 id="unplanned-heading">No plan: ${plan.status === 'timeout' ? 'the search ran out of time' : 'nothing fits'}</h2>
<p data-reason>${plan.reason ?? 'The planner found no configuration for this request.'}</p>
${shortfall}
</section>`;
}

function plannedBody(plan: Plan, summary: Summary, facts: RequestFacts): SafeHtml {
  const timeline = renderTimeline(plan);
  const clusterMap = renderClusterMap(plan, facts.nodeShape);
  const limited = plan.reason === undefined ? '' : html`<p class="explain" data-reason>${plan.reason}</p>`;
  return html`${limited}
${summaryMetrics(summary)}
<section aria-labelledby="cluster-heading"><h2 id="cluster-heading">Cluster map</h2>${clusterMap}</section>
<section aria-labelledby="timeline-heading"><h2 id="timeline-heading">Pipeline timeline</h2>${timeline}</section>
<section aria-labelledby="alternatives-heading"><h2 id="alternatives-heading">Alternatives: step time against memory</h2>${renderAlternatives(plan)}</section>
<section aria-labelledby="cost-heading"><h2 id="cost-heading">Cost breakdown</h2>${plan.breakdown === null ? '' : renderCostBreakdown(plan.breakdown)}</section>
<section aria-labelledby="memory-heading"><h2 id="memory-heading">Memory per GPU by kind</h2>${renderMemory(plan)}</section>
<section aria-labelledby="ops-heading"><h2 id="ops-heading">Per-op layouts by stage</h2>${renderOpTables(plan)}</section>
<section aria-labelledby="exports-heading"><h2 id="exports-heading">Exports</h2>${plan.exports === null ? html`<p class="note">This plan has no exports.</p>` : renderExports(plan.exports)}</section>`;
}

/** The page of one plan: a self-contained HTML document (inline CSS, SVG and script; works offline). */
export function renderPlanPage(job: PlanPageJob): string {
  const { plan } = job;
  const facts = requestFacts(job.request);
  const name = facts.modelName ?? (job.id === undefined ? 'plan' : `job ${job.id}`);
  const summary = plan.summary;
  const drawable = summary !== null && plan.stages.length > 0;
  const subtitle = drawable
    ? html`${summary.pp} stages, dp ${summary.dp} × tp ${summary.tp}, ${summary.schedule}: ${formatSec(summary.stepTimeSec)} per step, ${formatCount(summary.tokensPerSec)} tokens/s`
    : html`No plan.`;
  const body = html`<header>
<h1>meshplan: ${name} <span class="status status-${plan.status}" data-plan-status="${plan.status}">${plan.status}</span></h1>
<p class="note">${job.id === undefined ? '' : html`Job <code>${job.id}</code>. `}${subtitle}</p>
</header>
<main data-stage-count="${plan.stages.length}">
${drawable ? plannedBody(plan, summary, facts) : unplannedBody(plan)}
${solverFooter(plan)}
</main>`;
  return renderDocument({ title: `meshplan plan: ${name} (${plan.status})`, body });
}
