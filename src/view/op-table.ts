import type { OpLayoutOut, Plan, StageOut } from '../schema/index.ts';
import { formatBytes, formatSec } from './format.ts';
import { html, type SafeHtml } from './html.ts';

type TensorSpec = OpLayoutOut['outputSpec'];

/** DTensor-style short form: `x [S0, R] P1` (per-dim placements, then pending partial sums). */
function specText(spec: TensorSpec): string {
  const partial = spec.partialAxes.length > 0 ? ` ${spec.partialAxes.map((a) => `P${a}`).join(' ')}` : '';
  return `${spec.tensor} [${spec.spec.join(', ')}]${partial}`;
}

function collectivesCell(op: OpLayoutOut): SafeHtml {
  if (op.collectives.length === 0) return html`<span class="note">none</span>`;
  return html`${op.collectives.map(
    (c, i) =>
      html`${i > 0 ? html`<br>` : ''}<span title="${c.reason}">${c.kind} on axis ${c.axis}, ${c.phase}, ${formatBytes(c.bytes)}, ${formatSec(c.sec)}</span>`,
  )}`;
}

/** Seconds of one occurrence of the op per microbatch: forward + backward compute and its collectives. */
function opSeconds(op: OpLayoutOut): number {
  return op.computeSec.forward + op.computeSec.backward + op.commSec;
}

const HEADERS: readonly { label: string; numeric: boolean }[] = [
  { label: 'Layer', numeric: false },
  { label: 'Op', numeric: false },
  { label: 'Strategy', numeric: false },
  { label: 'Input specs', numeric: false },
  { label: 'Output spec', numeric: false },
  { label: 'Collectives', numeric: false },
  { label: 'Seconds (fwd + bwd + comm)', numeric: true },
];

function stageTable(stage: StageOut, s: number): SafeHtml {
  const rows = stage.layerPlans.flatMap((plan) =>
    plan.ops.map((op) => {
      const sec = opSeconds(op);
      const strategy =
        op.follows === null ? op.strategy.label : `${op.strategy.label} (follows ${op.follows})`;
      return html`<tr data-op="${op.op}"><td>${plan.layer}${plan.count > 1 ? ` ×${plan.count}` : ''}</td><td><code>${op.op}</code> <span class="note">${op.kind}</span></td><td>${strategy}</td><td>${op.inputSpecs.map((spec, i) => html`${i > 0 ? html`<br>` : ''}<code>${specText(spec)}</code>`)}</td><td><code>${specText(op.outputSpec)}</code></td><td>${collectivesCell(op)}</td><td class="num" data-sort-value="${sec}" title="forward ${formatSec(op.computeSec.forward)}, backward ${formatSec(op.computeSec.backward)}, communication ${formatSec(op.commSec)}">${formatSec(sec)}</td></tr>`;
    }),
  );
  const heads = HEADERS.map(
    (h) =>
      html`<th scope="col"${h.numeric ? html` class="num"` : ''}><button type="button">${h.label}</button></th>`,
  );
  const opCount = stage.layerPlans.reduce((n, p) => n + p.ops.length, 0);
  return html`<details${s === 0 ? html` open` : ''}>
<summary>Stage ${s}: ${stage.layerNames[0]} – ${stage.layerNames[1]} (${opCount} ops in ${stage.layerPlans.length} distinct layers)</summary>
<table class="ops" id="ops-stage-${s}" data-sortable data-stage="${s}"><caption class="note">Stage ${s}: one row per op of each distinct layer (identical layers share one layout; ×n counts them). Click a header to sort.</caption>
<thead><tr>${heads}</tr></thead>
<tbody>${rows}</tbody></table>
</details>`;
}

/** Per-op layouts of every stage: strategy, shardings (R, S0, S1, S01; P for partial sums) and costs. */
export function renderOpTables(plan: Plan): SafeHtml {
  return html`<p class="note">Specs give each tensor dim's placement on the stage's logical mesh: R replicated, S0 / S1 split over mesh axis 0 / 1, S01 over both; P0 / P1 mark a partial sum awaiting a reduction on that axis.</p>
${plan.stages.map((stage, s) => stageTable(stage, s))}`;
}
