import { createHash } from 'node:crypto';
import { plan } from '../../src/planner/plan.ts';
import type { Plan, PlanRequestInput, SweepRow } from '../../src/schema/index.ts';

/** Two nodes, a pinned two-stage pipeline: several microbatches, small enough to plan in about a second. */
export const VIEW_REQUEST = {
  model: {
    kind: 'transformer',
    name: 'tiny-gpt',
    layers: 4,
    hidden: 512,
    heads: 8,
    vocab: 1000,
    seqLen: 128,
  },
  cluster: { gpu: 'A100-80GB', nodes: 2, gpusPerNode: 8 },
  training: { globalBatch: 24 },
  // Three one-sequence microbatches per replica, pinned so that the 1F1B timeline has several (left
  // free, the launch cost of so small a model's kernels makes one large microbatch the cheapest) and
  // an odd count that interleaving over two stages cannot take.
  parallel: { pp: 2, dp: 8, microBatch: 1, schedule: '1f1b' },
} satisfies PlanRequestInput;

/** Does not fit: the closest configuration misses by tens of MiB per GPU. */
export const INFEASIBLE_REQUEST = {
  model: { kind: 'transformer', layers: 8, hidden: 8192, heads: 64, vocab: 50_000, seqLen: 2048 },
  cluster: { gpu: 'A100-40GB', nodes: 1, gpusPerNode: 2 },
  training: { globalBatch: 8 },
} satisfies PlanRequestInput;

let feasible: Promise<Plan> | null = null;
let infeasible: Promise<Plan> | null = null;

export function viewPlan(): Promise<Plan> {
  feasible ??= plan(VIEW_REQUEST);
  return feasible;
}

export function infeasiblePlan(): Promise<Plan> {
  infeasible ??= plan(INFEASIBLE_REQUEST);
  return infeasible;
}

export const HOSTILE = `<script>alert("x")</script><img src=x onerror=alert(1)>'&`;

/** The plan with every user-controlled name (layers, ops, tensors) replaced by markup. */
export function withHostileNames(source: Plan): Plan {
  const copy = structuredClone(source);
  for (const stage of copy.stages) {
    stage.layerNames = [HOSTILE, HOSTILE];
    for (const layerPlan of stage.layerPlans) {
      layerPlan.layer = HOSTILE;
      for (const op of layerPlan.ops) {
        op.op = HOSTILE;
        op.outputSpec.tensor = HOSTILE;
        for (const spec of op.inputSpecs) spec.tensor = HOSTILE;
      }
    }
  }
  return copy;
}

/** Every value of attribute `attr` in the page (the pages quote attributes with double quotes). */
export function attributeValues(page: string, attr: string): string[] {
  return [...page.matchAll(new RegExp(`\\s${attr}="([^"]*)"`, 'g'))].map((m) => m[1]!);
}

/** The hash a CSP source list uses for an inline element's text. */
export function cspHash(text: string): string {
  return `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
}

export function sweepRow(
  jobId: string,
  point: Record<string, unknown>,
  tokensPerSec: number | null,
): SweepRow {
  const finished = tokensPerSec !== null;
  return {
    jobId,
    point,
    status: 'succeeded',
    planStatus: finished ? 'optimal' : 'infeasible',
    stepTimeSec: finished ? 1000 / tokensPerSec : null,
    tokensPerSec,
    tflopsPerDevice: finished ? 100 : null,
    mfu: finished ? 0.4 : null,
    peakMemoryBytes: finished ? 2 ** 34 : null,
    dp: finished ? 2 : null,
    tp: finished ? 2 : null,
    pp: finished ? 1 : null,
    gpus: finished ? 4 : null,
    trainingDays: null,
    costUsd: null,
    gpuHours: null,
  };
}
