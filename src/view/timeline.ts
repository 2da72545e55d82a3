import type { Plan, StageOut, Summary } from '../schema/index.ts';
import { linearScale, niceTicks } from './axis.ts';
import { formatCount, formatSec } from './format.ts';
import { html, type SafeHtml } from './html.ts';
import { legend } from './legend.ts';
import { OKABE_ITO, type Swatch } from './palette.ts';
import { type ScheduleBar, type StageTimes, simulateSchedule } from './schedule-sim.ts';

/** Past this many forward/backward bars the chart draws a shorter step (the browser stays quick). */
export const MAX_TIMELINE_BARS = 4000;

const PASS_SWATCH = { forward: OKABE_ITO.blue, backward: OKABE_ITO.orange } as const;
const GRADIENT_SWATCH = OKABE_ITO.bluishGreen;
const OPTIMIZER_SWATCH = OKABE_ITO.reddishPurple;

/**
 * Share of a stage's per-microbatch latency spent in the forward pass, from its ops' own forward
 * and backward seconds (an op's backward already holds its recomputed forward). Time the ops do not
 * account for (pipeline sends, ZeRO traffic) is split in the same ratio.
 */
export function forwardShare(stage: StageOut): number {
  let forward = 0;
  let backward = 0;
  for (const { count, ops } of stage.layerPlans) {
    for (const op of ops) {
      forward += count * op.computeSec.forward;
      backward += count * op.computeSec.backward;
      for (const c of op.collectives) {
        if (c.phase === 'forward') forward += count * c.sec;
        else backward += count * c.sec;
      }
    }
  }
  // No op data (an empty stage): the usual 1 : 2 of a matmul-bound layer.
  return forward + backward > 0 ? forward / (forward + backward) : 1 / 3;
}

function stageTimes(plan: Plan): StageTimes[] {
  return plan.stages.map((stage) => {
    const share = forwardShare(stage);
    return { forwardSec: stage.latencySec * share, backwardSec: stage.latencySec * (1 - share) };
  });
}

interface StepBar {
  readonly label: string;
  readonly sec: number;
  readonly swatch: Swatch;
  readonly kind: 'gradient-reduction' | 'optimizer';
}

/**
 * What the plan pays once per step after the last backward (the plan assumes only the first stage's
 * is exposed): the step time less the pipeline's B·max t + bubble, of which the optimizer is named.
 */
function stepEndBars(plan: Plan, summary: Summary): StepBar[] {
  const breakdown = plan.breakdown!;
  const slowest = Math.max(...plan.stages.map((s) => s.latencySec));
  const onceSec = Math.max(0, breakdown.totalSec - summary.microbatches * slowest - breakdown.bubbleSec);
  const reductionSec = Math.max(0, onceSec - breakdown.optimizerSec);
  const bars: StepBar[] = [];
  // Rounding leaves crumbs of a few ulps where the plan has no exposed reduction at all.
  if (reductionSec > 1e-9 * breakdown.totalSec) {
    bars.push({
      label: 'data-parallel gradient reduction',
      sec: reductionSec,
      swatch: GRADIENT_SWATCH,
      kind: 'gradient-reduction',
    });
  }
  bars.push({
    label: 'optimizer step',
    sec: breakdown.optimizerSec,
    swatch: OPTIMIZER_SWATCH,
    kind: 'optimizer',
  });
  return bars;
}

const LABEL_W = 96;
const PLOT_W = 980;
const ROW_H = 24;
const ROW_GAP = 6;
const TOP = 8;

function passBar(bar: ScheduleBar, x: (t: number) => number, chunks: number): SafeHtml {
  const y = TOP + bar.stage * (ROW_H + ROW_GAP);
  const x0 = x(bar.startSec);
  const width = Math.max(0.5, x(bar.endSec) - x0);
  const swatch = PASS_SWATCH[bar.pass];
  const chunk = chunks > 1 ? `, model chunk ${bar.chunk}` : '';
  const tip = `Stage ${bar.stage}, microbatch ${bar.microbatch}${chunk}, ${bar.pass}: ${formatSec(bar.endSec - bar.startSec)} (${formatSec(bar.startSec)} → ${formatSec(bar.endSec)})`;
  const text =
    width >= (chunks > 1 ? 24 : 16)
      ? html`<text x="${(x0 + width / 2).toFixed(2)}" y="${y + ROW_H / 2 + 4}" text-anchor="middle" class="${swatch.text === '#ffffff' ? 'on-dark' : ''}" aria-hidden="true">${chunks > 1 ? `${bar.microbatch}:${bar.chunk}` : bar.microbatch}</text>`
      : '';
  return html`<g class="bar" data-stage="${bar.stage}" data-microbatch="${bar.microbatch}" data-chunk="${bar.chunk}" data-pass="${bar.pass}" data-sec="${bar.endSec - bar.startSec}"><title>${tip}</title><rect x="${x0.toFixed(2)}" y="${y}" width="${width.toFixed(2)}" height="${ROW_H}" fill="${swatch.fill}" stroke="#fff" stroke-width="0.5"></rect>${text}</g>`;
}

/** The Gantt chart of one training step, or null when the plan has no pipeline to draw. */
export function renderTimeline(plan: Plan): SafeHtml | null {
  const summary = plan.summary;
  if (summary === null || plan.breakdown === null || plan.stages.length === 0) return null;
  const S = plan.stages.length;
  const kind = plan.schedule?.kind ?? summary.schedule;
  const chunks = kind === 'interleaved' ? Math.max(1, summary.virtualStages) : 1;
  const B = summary.microbatches;
  const drawn = Math.min(B, Math.max(1, Math.floor(MAX_TIMELINE_BARS / (S * 2 * chunks))));
  const bars = simulateSchedule({
    kind,
    stages: stageTimes(plan),
    microbatches: drawn,
    virtualStages: chunks,
  });
  const lastBackward = bars.filter((b) => b.stage === 0).reduce((t, b) => Math.max(t, b.endSec), 0);
  const tail = stepEndBars(plan, summary);
  const endSec = tail.reduce((t, b) => t + b.sec, lastBackward);
  const x = linearScale(0, endSec, LABEL_W, LABEL_W + PLOT_W);
  const plotBottom = TOP + S * (ROW_H + ROW_GAP);
  const height = plotBottom + 28;
  const ticks = niceTicks(0, endSec, 8);

  const rows = plan.stages.map((stage, s) => {
    const y = TOP + s * (ROW_H + ROW_GAP);
    return html`<text x="${LABEL_W - 8}" y="${y + ROW_H / 2 + 4}" text-anchor="end">Stage ${s}</text><rect class="track" x="${LABEL_W}" y="${y}" width="${PLOT_W}" height="${ROW_H}"><title>Stage ${s}: layers ${stage.layerNames[0]} to ${stage.layerNames[1]}; idle where no bar is drawn</title></rect>`;
  });
  let at = lastBackward;
  const tailBars = tail.map((bar) => {
    const x0 = x(at);
    at += bar.sec;
    const width = Math.max(1, x(at) - x0);
    return html`<g class="step-end" data-kind="${bar.kind}" data-sec="${bar.sec}"><title>Stage 0, ${bar.label}: ${formatSec(bar.sec)}</title><rect x="${x0.toFixed(2)}" y="${TOP}" width="${width.toFixed(2)}" height="${ROW_H}" fill="${bar.swatch.fill}" stroke="#000" stroke-width="0.5"></rect></g>`;
  });
  const axis = ticks.map(
    (t) =>
      html`<line class="grid" x1="${x(t).toFixed(2)}" x2="${x(t).toFixed(2)}" y1="${TOP}" y2="${plotBottom}"></line><text x="${x(t).toFixed(2)}" y="${plotBottom + 16}" text-anchor="middle">${formatSec(t)}</text>`,
  );
  const simulatedNote =
    drawn < B
      ? html`<p class="note" data-truncated="true"><strong>Showing the first ${formatCount(drawn)} of ${formatCount(B)} microbatches</strong> (a step of ${formatCount(drawn)} microbatches: the same fill and drain, fewer steady-state slots), so the chart stays under ${formatCount(MAX_TIMELINE_BARS)} bars.</p>`
      : '';
  const chunkNote =
    chunks > 1
      ? ` Each stage holds ${chunks} model chunks; every chunk's pass is its own bar, labelled microbatch:chunk.`
      : '';
  const label = `Pipeline timeline: ${S} stages, ${kind} schedule, ${drawn} microbatches, simulated step ${formatSec(endSec)}`;
  return html`<figure>
<figcaption>One training step under the <strong>${kind}</strong> schedule, simulated from each stage's per-microbatch latency (forward and backward split by the ops' own forward and backward seconds). Bars are labelled with their microbatch; hover for seconds. Gaps are the pipeline bubble: the stage is idle.${chunkNote} The first stage then reduces gradients and steps the optimizer (later stages do theirs during its last backward passes, as the plan assumes). Simulated step: ${formatSec(endSec)}; the plan's step time: ${formatSec(plan.breakdown.totalSec)}.</figcaption>
${simulatedNote}
${legend([
  { label: 'forward', swatch: PASS_SWATCH.forward },
  { label: 'backward', swatch: PASS_SWATCH.backward },
  ...tail.map((bar) => ({ label: bar.label, swatch: bar.swatch })),
  { label: 'idle (bubble)', swatch: { fill: '#f3f3f3', text: '#000000' } },
])}
<svg id="timeline" width="${LABEL_W + PLOT_W + 16}" height="${height}" viewBox="0 0 ${LABEL_W + PLOT_W + 16} ${height}" role="img" aria-label="${label}" data-stages="${S}" data-microbatches="${drawn}" data-schedule="${kind}">
${axis}${rows}${bars.map((bar) => passBar(bar, x, chunks))}${tailBars}
<line class="axis" x1="${LABEL_W}" x2="${LABEL_W + PLOT_W}" y1="${plotBottom}" y2="${plotBottom}"></line>
</svg>
</figure>`;
}
