import { describe, expect, it } from 'vitest';
import { estimate } from '../../src/planner/estimate.ts';
import { type Plan, PlanRequest } from '../../src/schema/index.ts';
import { LLAMA3_8B } from '../support/models.ts';

/*
 * Oracles: the collectives Megatron-LM runs per transformer layer under tensor parallelism.
 * - Without sequence parallelism, Shoeybi et al. 2019 (arXiv 1909.08053, §3): "two all-reduces in the
 *   forward path and two in the backward path" per layer — the outputs of attention and of the MLP
 *   forward, the gradients of their inputs backward (one each: q, k and v read one input, as gate and
 *   up do, and their partial gradients are summed before the one reduction).
 * - With it, Korthikanti et al. 2022 (arXiv 2205.05198, §4.2.2): each all-reduce becomes an all-gather
 *   and a reduce-scatter, so two of each per pass.
 * - Transformer Engine gathers an FP8 GEMM's input (and output gradient) after casting it to FP8:
 *   half the bytes of bf16; the reduce-scatters sum bf16 partial results.
 */

const LLAMA = { ...LLAMA3_8B, layers: 4 };
const GPT = {
  kind: 'transformer',
  layers: 4,
  hidden: 4096,
  heads: 32,
  vocab: 51200,
  seqLen: 2048,
  activation: 'gelu',
  attention: 'flash',
} as const;

async function blockCollectives(model: object, precision: string, sequenceParallel: boolean) {
  const plan: Plan = await estimate(
    PlanRequest.parse({
      model,
      cluster: { gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 },
      training: { globalBatch: 8, precision, optimizer: 'adam' },
      parallel: { tp: 4, pp: 1, dp: 2, microBatch: 1, sequenceParallel },
    }),
  );
  expect(plan.status).toBe('optimal');
  const block = plan.stages[0]!.layerPlans.find((l) => l.layer.startsWith('block'))!;
  // Activation traffic only: the layer norms' weight-gradient all-reduces are a parameter's sync.
  return block.ops.flatMap((op) => op.collectives.filter((c) => !c.reason.startsWith('gradient of')));
}

const count = (list: readonly { kind: string; phase: string }[], kind: string, phase: string) =>
  list.filter((c) => c.kind === kind && c.phase === phase).length;

describe('consumers reading one tensor in one layout share its move', () => {
  it('tensor parallelism without sequence parallelism: two all-reduces per pass (GPT, q/k/v apart)', async () => {
    const list = await blockCollectives(GPT, 'bf16', false);
    expect(count(list, 'all-reduce', 'forward')).toBe(2);
    expect(count(list, 'all-reduce', 'backward')).toBe(2);
    expect(list).toHaveLength(4);
  });

  it('sequence parallelism: two all-gathers and two reduce-scatters per pass (Llama, GQA, SwiGLU)', async () => {
    const list = await blockCollectives(LLAMA, 'bf16', true);
    for (const phase of ['forward', 'backward'])
      for (const kind of ['all-gather', 'reduce-scatter']) expect(count(list, kind, phase)).toBe(2);
    expect(list).toHaveLength(8);
    // Every one moves the whole [s, b, h] activation in bf16 (the group's total for a gather, the
    // buffer each device holds for a scatter: the same bytes here).
    const activationBytes = LLAMA.seqLen * LLAMA.hidden * 2;
    for (const c of list) expect(c.bytes).toBe(activationBytes);
  });

  it('FP8 GEMMs gather their FP8 input and output gradient: half the bytes; the scatters stay bf16', async () => {
    const bf16 = await blockCollectives(LLAMA, 'bf16', true);
    const fp8 = await blockCollectives(LLAMA, 'fp8', true);
    expect(fp8.map((c) => [c.kind, c.phase])).toEqual(bf16.map((c) => [c.kind, c.phase]));
    fp8.forEach((c, i) => {
      const ratio = c.kind === 'all-gather' ? 0.5 : 1;
      expect(c.bytes).toBe(bf16[i]!.bytes * ratio);
      if (c.kind === 'all-gather') expect(c.sec).toBeLessThan(bf16[i]!.sec);
    });
  });
});
