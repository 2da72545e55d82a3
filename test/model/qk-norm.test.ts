/**
 * Qwen3's q and k norms (TransformerSpec.qkNorm), as Megatron-LM (--qk-layernorm: q_layernorm and
 * k_layernorm, TENorm over kv_channels) and torchtitan's qwen3 (qk_norm) build them. Oracles: the
 * norms' parameters and bytes counted by hand, Megatron's argument table and model
 * (megatron-check.ts), torchtitan's qwen3 arguments, and the frameworks that have no such norms.
 */
import { describe, expect, it } from 'vitest';
import { findGpu } from '../../src/cluster/catalog.ts';
import { planModel } from '../../src/model/planned.ts';
import { estimate } from '../../src/planner/estimate.ts';
import { type Plan, PlanRequest, TransformerSpec } from '../../src/schema/index.ts';
import { checkExport, estimated, requestOf } from '../frameworks/megatron-check.ts';

/** Qwen3-30B-A3B in small: heads of 128 wider than the hidden state, 4 key/value heads, experts. */
const smallQwen3 = {
  kind: 'transformer',
  layers: 4,
  hidden: 1024,
  heads: 16,
  kvHeads: 4,
  headDim: 128,
  vocab: 32000,
  seqLen: 2048,
  activation: 'swiglu',
  qkNorm: true,
  moe: { experts: 8, topK: 2, ffnHidden: 512, dropless: true },
} as const;

const on = { gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 };

async function attentionOps(
  tp: number,
): Promise<Map<string, Plan['stages'][number]['layerPlans'][number]['ops'][number]>> {
  const plan = await estimate(
    PlanRequest.parse({
      model: smallQwen3,
      cluster: on,
      training: { globalBatch: 8, precision: 'bf16', optimizer: 'adam' },
      parallel: { tp, pp: 1, dp: 8 / tp, microBatch: 1, ...(tp > 1 ? { sequenceParallel: true } : {}) },
      options: { target: 'megatron' },
    }),
  );
  const block = plan.stages[0]!.layerPlans.find((l) => l.layer.startsWith('block'))!;
  return new Map(block.ops.map((op) => [op.op.replace(/^block\d+\./, ''), op]));
}

describe('the q and k norms', () => {
  it('add one scale of the head size each per block, as the frameworks hold them', () => {
    const params = (model: object) =>
      planModel(TransformerSpec.parse(model), { microBatch: 1, precision: 'bf16' }).params;
    const without = params({ ...smallQwen3, qkNorm: false });
    const withNorms = params(smallQwen3);
    expect(withNorms - without).toBe(smallQwen3.layers * 2 * smallQwen3.headDim);
  });

  it('read and write each rank’s heads once forward, three times their size backward', async () => {
    const h100 = findGpu('H100-80GB')!.spec;
    const rate = h100.hbmGBps * 1e9 * h100.efficiency.memory;
    for (const tp of [1, 2]) {
      const ops = await attentionOps(tp);
      // bf16 queries: 2048 tokens × 16 heads / tp × 128; keys 4 heads / tp.
      const q = 2048 * (16 / tp) * 128 * 2;
      const k = 2048 * (4 / tp) * 128 * 2;
      for (const [name, bytes] of [
        ['q_norm', q],
        ['k_norm', k],
      ] as const) {
        const op = ops.get(name)!;
        // The heads split over tp with the projections before them.
        expect(op.strategy.label).not.toBe('replicated');
        expect(op.computeSec.forward).toBeCloseTo((2 * bytes) / rate + 3e-6, 6);
        expect(op.computeSec.backward).toBeCloseTo((3 * bytes) / rate + 3e-6, 6);
      }
    }
  });
});

describe('exports', () => {
  const parallel = { tp: 2, pp: 1, dp: 4, ep: 4, sequenceParallel: true };

  it('Megatron-LM: --qk-layernorm, the priced model by the release’s arguments and rules', async () => {
    const request = requestOf(smallQwen3, parallel, 'bf16', on, 64);
    const { ns } = checkExport(await estimated(request), request);
    expect(ns.values.get('qk_layernorm')).toBe(true);
  });

  it('Megatron-LM refuses them past the key/value heads, where each rank normalises gathered keys', async () => {
    // 32 query heads in 4 groups: tp 8 splits each group's 8, past its 4 key/value heads.
    const request = requestOf(
      { ...smallQwen3, heads: 32 },
      { tp: 8, pp: 1, dp: 1, sequenceParallel: true },
      'bf16',
      on,
      64,
    );
    const m = (await estimate({ ...request, options: { ...request.options, target: 'any' } })).exports!
      .megatron;
    expect(m.expressible).toBe(false);
    expect(m.notes.join(' ')).toMatch(/model\.qkNorm.*tp divides the 4 key\/value heads, and tp is 8/);
  });

  it('torchtitan builds its qwen3 with qk_norm, even for a dense Llama-shaped model', async () => {
    const dense = { ...smallQwen3, moe: undefined };
    const request = PlanRequest.parse({
      model: dense,
      cluster: on,
      training: { globalBatch: 8, precision: 'bf16', optimizer: 'adam' },
      parallel: { tp: 1, pp: 1, dp: 8, microBatch: 1, zero: 3 },
      options: { target: 'torchtitan' },
    });
    const t = (await estimate(request)).exports!.torchtitan;
    expect(t.expressible).toBe(true);
    const module = t.files.find((f) => f.path === 'meshplan_qwen3.py')!;
    expect(module.content).toContain('qk_norm=True');
  });

  it('DeepSpeed refuses them, naming the field; JAX lays out their scales', async () => {
    const request = PlanRequest.parse({
      model: { ...smallQwen3, moe: undefined },
      cluster: on,
      training: { globalBatch: 8, precision: 'bf16', optimizer: 'adam' },
      parallel: { tp: 1, pp: 1, dp: 8, microBatch: 1 },
      options: { target: 'any' },
    });
    const exports = (await estimate(request)).exports!;
    expect(exports.deepspeed.expressible).toBe(false);
    expect(exports.deepspeed.notes.join(' ')).toContain('model.qkNorm');
    expect(exports.jax.expressible).toBe(true);
    expect(JSON.stringify(exports.jax)).toContain('"block0.q_norm_scale"');
  });
});

describe('a latent-attention model with qkNorm', () => {
  it('is refused naming the field', () => {
    const bad = PlanRequest.safeParse({
      model: {
        ...smallQwen3,
        headDim: undefined,
        mla: { qLoraRank: 384, kvLoraRank: 128, qkNopeHeadDim: 64, qkRopeHeadDim: 32, vHeadDim: 64 },
      },
      cluster: on,
      training: { globalBatch: 8, precision: 'bf16', optimizer: 'adam' },
    });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues.map((i) => i.path.join('.'))).toContain('model.qkNorm');
  });
});
