/**
 * torchtitan's per-op selective checkpointing (v0.2.2 distributed/activation_checkpoint.py with the
 * Llama 3 save list): inside each block the outputs of attention and of every other bf16 matmul stay
 * (the 1st, 3rd, 5th, 7th: q, v, gate and down projections), everything else is redone in the
 * backward; an FP8 matmul is torchao's _scaled_mm, which the list does not hold, so under Float8 only
 * attention's output stays. The oracles are closed forms in the model's dims.
 */
import { describe, expect, it } from 'vitest';
import { estimate } from '../../src/planner/estimate.ts';
import type { Plan, PlanRequestInput } from '../../src/schema/index.ts';

const H = 1024;
const KV = 2 * 128; // 2 KV heads of head dim 128
const FFN = 3584;
const SEQ = 2048;
const MICRO = 2;
const LAYERS = 2;
const TOKENS = MICRO * SEQ;

function request(recompute: 'none' | 'per-op' | 'full', precision: 'bf16' | 'fp8'): PlanRequestInput {
  return {
    model: {
      kind: 'transformer',
      name: 'tiny-llama',
      layers: LAYERS,
      hidden: H,
      heads: 8,
      kvHeads: 2,
      ffnHidden: FFN,
      vocab: 32000,
      seqLen: SEQ,
      activation: 'swiglu',
    },
    cluster: { gpu: 'H100-80GB', nodes: 1, gpusPerNode: 1 },
    training: { globalBatch: MICRO, precision, optimizer: 'adam' },
    parallel: { tp: 1, pp: 1, dp: 1, microBatch: MICRO, recompute, zero: 0 },
    options: { target: 'torchtitan' },
  };
}

/** Activation bytes one block keeps, summed over its ops. */
function blockKeptBytes(plan: Plan): number {
  const block = plan.stages![0]!.layerPlans.find((lp) => lp.layer.startsWith('block'))!;
  return block.ops.reduce((s, op) => s + op.memoryBytes.activations, 0);
}

/** Hardware FLOPs one device runs per step: forward, backward, and what recomputation redoes. */
function hardwareFlops(plan: Plan): number {
  return plan.summary!.hardwareTflopsPerDevice * 1e12 * plan.summary!.stepTimeSec;
}

describe("torchtitan's per-op selective checkpointing", () => {
  it('keeps the block input and the outputs of q, v, attention, gate and down (bf16)', async () => {
    const plan = await estimate(request('per-op', 'bf16'));
    expect(plan.status).toBe('optimal');
    // 2 bytes each: x (h), q (h), v (kv heads · head dim), attention's output (h), gate (ffn), down (h).
    expect(blockKeptBytes(plan)).toBe(2 * TOKENS * (4 * H + KV + FFN));
  });

  it('keeps only the block input and attention’s output under Float8', async () => {
    const plan = await estimate(request('per-op', 'fp8'));
    expect(blockKeptBytes(plan)).toBe(2 * TOKENS * (2 * H));
  });

  it('redoes all of a block’s forward but the kept ops’ (bf16), and all but attention under Float8', async () => {
    // Against full recomputation, which redoes every block op: per-op saves the kept ops' FLOPs,
    // the q, v, gate and down GEMMs (2 · tokens · K · N each) and attention's full score matrix
    // (4 · micro · seq² · h, the count the FLOPs figures use).
    const attention = 4 * MICRO * SEQ * SEQ * H;
    const keptGemms = 2 * TOKENS * (H * H + H * KV + H * FFN + FFN * H);
    for (const [precision, kept] of [
      ['bf16', keptGemms + attention],
      ['fp8', attention],
    ] as const) {
      const full = hardwareFlops(await estimate(request('full', precision)));
      const perOp = hardwareFlops(await estimate(request('per-op', precision)));
      expect((full - perOp) / (LAYERS * kept), precision).toBeCloseTo(1, 6);
    }
  });

  it('adds each redone op’s forward to its backward, and nothing to the kept ones’', async () => {
    // The bf16 block's ops by name: torchtitan keeps q, v, attention, gate and down (mm 1, 3, 5, 7
    // and SDPA); everything else in the block is redone.
    const kept = new Set(['q_proj', 'v_proj', 'attention', 'gate_proj', 'down_proj']);
    const blockOps = async (recompute: 'none' | 'per-op') =>
      (await estimate(request(recompute, 'bf16'))).stages![0]!.layerPlans.find((lp) =>
        lp.layer.startsWith('block'),
      )!.ops;
    const none = await blockOps('none');
    const perOp = await blockOps('per-op');
    expect(perOp.map((o) => o.op)).toEqual(none.map((o) => o.op));
    for (const [i, op] of perOp.entries()) {
      const base = none[i]!.computeSec;
      const redone = !kept.has(op.op.split('.').at(-1)!);
      expect(op.computeSec.backward, op.op).toBeCloseTo(base.backward + (redone ? base.forward : 0), 12);
    }
    expect(perOp.filter((o) => !kept.has(o.op.split('.').at(-1)!)).length).toBeGreaterThan(5);
  });

  it('is torchtitan’s alone: Megatron-LM, DeepSpeed and JAX exports say they cannot run it', async () => {
    const plan = await estimate(request('per-op', 'bf16'));
    const exports = plan.exports!;
    expect(exports.torchtitan.expressible).toBe(true);
    for (const name of ['megatron', 'deepspeed', 'jax'] as const) {
      expect(exports[name].expressible, name).toBe(false);
      expect(exports[name].notes[0], name).toMatch(/no per-op selective checkpointing/);
    }
  });
});
