import { describe, expect, it } from 'vitest';
import { estimate } from '../../src/planner/estimate.ts';
import type { PlanRequestInput } from '../../src/schema/index.ts';

/** A 2.7B GPT on one H100 node, tensor-parallel `tp` ways, data-parallel the rest. */
function request(tp: number, overlapInputGradientReduce?: boolean, target?: 'torchtitan'): PlanRequestInput {
  return {
    model: { kind: 'transformer', layers: 8, hidden: 2560, heads: 32, vocab: 51200, seqLen: 2048 },
    cluster: { gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 },
    training: { globalBatch: 16 },
    parallel: {
      tp,
      pp: 1,
      dp: 8 / tp,
      microBatch: 1,
      sequenceParallel: tp > 1,
      // torchtitan trains in mixed precision only under FSDP.
      ...(target === 'torchtitan' ? { zero: 3 as const } : {}),
      ...(overlapInputGradientReduce === undefined ? {} : { overlapInputGradientReduce }),
    },
    ...(target === undefined ? {} : { options: { target } }),
  };
}

const stepSec = async (r: PlanRequestInput) => (await estimate(r)).summary!.stepTimeSec;

describe('input gradients reduced alongside the weight-gradient GEMMs, priced per runtime', () => {
  it('shortens a tensor-parallel step by default (Megatron-LM’s linear layers), not when the request says the runtime waits', async () => {
    const overlapped = await estimate(request(8));
    const waiting = await estimate(request(8, false));
    expect(overlapped.summary!.stepTimeSec).toBeLessThan(waiting.summary!.stepTimeSec);
    // The step shortens by exactly what the breakdown reports hidden, and without it nothing is.
    expect(waiting.summary!.stepTimeSec - overlapped.summary!.stepTimeSec).toBeCloseTo(
      overlapped.breakdown!.hiddenByOverlapSec,
      12,
    );
    expect(waiting.breakdown!.hiddenByOverlapSec).toBe(0);
  });

  it('changes nothing without tensor parallelism', async () => {
    expect(await stepSec(request(1))).toBe(await stepSec(request(1, false)));
  });

  it('is not priced for torchtitan, whose DTensor backward reduces in order', async () => {
    expect(await stepSec(request(4, undefined, 'torchtitan'))).toBe(
      await stepSec(request(4, false, 'torchtitan')),
    );
    // Megatron-LM prices the same configuration faster.
    expect(await stepSec({ ...request(4), parallel: { ...request(4).parallel, zero: 3 } })).toBeLessThan(
      await stepSec({ ...request(4, false), parallel: { ...request(4, false).parallel, zero: 3 } }),
    );
  });
});
