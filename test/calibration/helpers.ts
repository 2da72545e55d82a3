import { withFactors } from '../../src/planner/calibration/fit.ts';
import { estimate } from '../../src/planner/estimate.ts';
import type { Efficiency, PlanRequestInput } from '../../src/schema/index.ts';

/** A small GPT on one 8-GPU A100 node: estimates in milliseconds, so fits run in seconds. */
export function smallRun(tp: number, dp: number, microBatch: number): PlanRequestInput {
  return {
    model: { kind: 'transformer', layers: 4, hidden: 1024, heads: 16, vocab: 8192, seqLen: 1024 },
    cluster: { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 8 },
    training: { globalBatch: 32 },
    parallel: { tp, pp: 1, dp, microBatch, overlapTensorParallelComm: tp > 1 },
  };
}

export const SMALL_RUNS: readonly PlanRequestInput[] = [
  smallRun(1, 8, 1),
  smallRun(2, 4, 1),
  smallRun(4, 2, 2),
  smallRun(8, 1, 1),
  smallRun(2, 4, 4),
  smallRun(1, 8, 4),
];

/** "The user's cluster": what the model says these runs take under `factors`, as if measured there. */
export async function measuredUnder(factors: Efficiency, requests: readonly PlanRequestInput[]) {
  const runs = [];
  for (const [i, request] of requests.entries()) {
    const plan = await estimate(withFactors(request, factors));
    runs.push({ name: `run${i}`, request, measured: { stepTimeSec: plan.summary!.stepTimeSec } });
  }
  return { runs };
}
