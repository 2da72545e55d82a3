/**
 * FP8 parameter gathering (Megatron-LM's --fp8-param-gather): each FP8 GEMM's weight is kept as its
 * FP8 data and transpose alone, without the bf16 weight beside them, and the distributed optimizer
 * gathers it in FP8. Checked against the weight count written out by hand, and against the request
 * rules that keep it to FP8 training with ZeRO 1 or 2.
 */
import { describe, expect, it } from 'vitest';
import { estimate } from '../../src/planner/estimate.ts';
import { plan } from '../../src/planner/plan.ts';
import { parseOrThrow } from '../../src/schema/errors.ts';
import { PlanRequest, type PlanRequestInput } from '../../src/schema/index.ts';
import { issuesOf } from '../support/input-issues.ts';

const [L, h, n, d, g, f, V] = [4, 1024, 16, 64, 4, 2816, 32000];
const tp = 2;
const model = {
  kind: 'transformer',
  layers: L,
  hidden: h,
  heads: n,
  kvHeads: g,
  ffnHidden: f,
  vocab: V,
  seqLen: 1024,
  activation: 'swiglu',
} as const;

function request(fp8ParamGather: boolean, parallel: object = {}): PlanRequestInput {
  return {
    model,
    cluster: { gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 },
    training: { globalBatch: 32, precision: 'fp8' },
    parallel: { tp, pp: 1, dp: 4, zero: 1, microBatch: 1, fp8ParamGather, ...parallel },
    options: { target: 'megatron' },
  };
}

/** A search for `target` with fp8ParamGather asked and every degree and ZeRO stage left to it. */
function searched(target: 'megatron' | 'torchtitan') {
  const { tp: _, pp: __, dp: ___, zero: ____, ...rest } = request(true).parallel!;
  return plan(PlanRequest.parse({ ...request(true), parallel: rest, options: { target, timeLimitSec: 30 } }));
}

describe('FP8 parameter gathering', () => {
  it('holds 2 bytes fewer per FP8 GEMM weight element: the blocks’ q, k, v, output and MLP weights over tp', async () => {
    const [kept, gathered] = await Promise.all([estimate(request(false)), estimate(request(true))]);
    expect(kept.status).toBe('optimal');
    expect(gathered.status).toBe('optimal');
    const fp8WeightsPerDevice = (L * (h * n * d + 2 * h * g * d + n * d * h + 3 * h * f)) / tp;
    const saved = kept.stages![0]!.memory.parametersBytes - gathered.stages![0]!.memory.parametersBytes;
    expect(saved).toBe(2 * fp8WeightsPerDevice);
    // Gradients and optimizer state are the same: only the bf16 weight copy goes.
    expect(gathered.stages![0]!.memory.gradientsBytes).toBe(kept.stages![0]!.memory.gradientsBytes);
    expect(gathered.stages![0]!.memory.optimizerBytes).toBe(kept.stages![0]!.memory.optimizerBytes);
  });

  it('is refused, naming the field, without FP8 training or with ZeRO pinned to 0 or 3', () => {
    const bf16 = { ...request(true), training: { globalBatch: 32, precision: 'bf16' } };
    expect(issuesOf(() => parseOrThrow(PlanRequest, bf16, 'request'))).toEqual([
      { path: 'parallel.fp8ParamGather', message: expect.stringMatching(/needs training.precision "fp8"/) },
    ]);
    for (const zero of [0, 3]) {
      expect(issuesOf(() => parseOrThrow(PlanRequest, request(true, { zero }), 'request'))).toEqual([
        { path: 'parallel.fp8ParamGather', message: expect.stringMatching(/needs zero 1 or 2/) },
      ]);
    }
  });

  it('a Megatron-LM search keeps to ZeRO 1–2 and exports the flag', async () => {
    const answer = await searched('megatron');
    expect(answer.status).toBe('optimal');
    expect([1, 2]).toContain(answer.summary!.zero);
    expect(answer.exports!.megatron.files.some((file) => file.content.includes('--fp8-param-gather'))).toBe(
      true,
    );
  });

  it('a search for torchtitan finds nothing to run, and says why', async () => {
    const answer = await searched('torchtitan');
    expect(answer.status).toBe('infeasible');
    expect(answer.reason).toMatch(/no FP8 parameter gather as priced/);
  });
});
