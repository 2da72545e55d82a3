import { describe, expect, it } from 'vitest';
import { resolveCluster } from '../../src/cluster/cluster.ts';
import { logicalMesh } from '../../src/cluster/mesh.ts';
import { paramMemory } from '../../src/cost/memory.ts';
import { planModel } from '../../src/model/planned.ts';
import { LayerSolver } from '../../src/planner/layer-solver.ts';
import { ClusterSpec, TransformerSpec } from '../../src/schema/index.ts';

// GPT-3 175B shapes, eager attention with dropout: the model Korthikanti et al. (2022) count.
const [s, b, h, a, L, V] = [2048, 1, 12288, 96, 96, 51200];
const spec = TransformerSpec.parse({
  kind: 'transformer',
  layers: L,
  hidden: h,
  heads: a,
  vocab: V,
  seqLen: s,
  attention: 'eager',
});
const cluster = resolveCluster(ClusterSpec.parse({ gpu: 'A100-80GB', nodes: 1, gpusPerNode: 8 }));
const model = planModel(spec, { microBatch: b, precision: 'bf16' });
const block = model.layers[1]!;

async function blockPrice(
  t: number,
  choice: 'megatron' | 'megatron-sp',
  recompute: 'none' | 'selective' | 'full',
) {
  const solver = new LayerSolver({ cluster, deadlineMs: Date.now() + 60_000 });
  return (await solver.price(block, logicalMesh(cluster, [1, t]), choice, recompute))!;
}

describe('memory against hand computations', () => {
  it.each([1, 2, 4, 8])(
    'activations per layer, tp=%i, no recompute: s·b·h·(10 + 24/t + 5·a·s/(h·t)) (Korthikanti eq. 2)',
    async (t) => {
      const price = await blockPrice(t, 'megatron', 'none');
      expect(price.activationBytes).toBeCloseTo(s * b * h * (10 + 24 / t + (5 * a * s) / (h * t)), -3);
    },
  );

  it.each([1, 2, 8])(
    'activations per layer, tp=%i, FP8 GEMMs: their inputs kept as the FP8 copies they cast, s·b·h·(8 + 19/t + 5·a·s/(h·t))',
    async (t) => {
      // Transformer Engine saves each FP8 Linear's quantized input for the weight gradient: the
      // QKV and fc1 inputs (2 → 1 byte, replicated), the attention output projection's (2/t → 1/t)
      // and fc2's (8/t → 4/t); attention itself stays bf16.
      const fp8Block = planModel(spec, { microBatch: b, precision: 'fp8' }).layers[1]!;
      const solver = new LayerSolver({ cluster, deadlineMs: Date.now() + 60_000 });
      const price = (await solver.price(fp8Block, logicalMesh(cluster, [1, t]), 'megatron', 'none'))!;
      expect(price.activationBytes).toBeCloseTo(s * b * h * (8 + 19 / t + (5 * a * s) / (h * t)), -3);
    },
  );

  it.each([2, 4, 8])(
    'activations per layer, tp=%i, sequence parallel: s·b·h·(34/t + 5·a·s/(h·t)) (Korthikanti eq. 4: linears keep their input sequence-split)',
    async (t) => {
      const price = await blockPrice(t, 'megatron-sp', 'none');
      expect(price.activationBytes).toBeCloseTo(s * b * h * (34 / t + (5 * a * s) / (h * t)), -3);
    },
  );

  it.each([1, 8])('activations per layer, tp=%i, selective recompute: s·b·h·(10 + 24/t)', async (t) => {
    const price = await blockPrice(t, 'megatron', 'selective');
    expect(price.activationBytes).toBeCloseTo(s * b * h * (10 + 24 / t), -3);
  });

  it('full recompute keeps each layer input only: 2·s·b·h', async () => {
    const price = await blockPrice(8, 'megatron', 'full');
    expect(price.activationBytes).toBe(2 * s * b * h);
  });

  it('parameters per layer are 12·h² + 13h, split over tp as Megatron splits them, Adam keeping 16 bytes each', async () => {
    const price = await blockPrice(8, 'megatron', 'none');
    // Column-parallel q, k, v and fc1 split their weights and biases (12h²·/8 of the weights, 7h/8
    // of the biases); the row-parallel output and fc2 biases and both LayerNorms' scales and shifts
    // stay whole on every device (h + h + 4h).
    expect(price.paramElements).toBe((12 * h * h + 7 * h) / 8 + 6 * h);
    const m = paramMemory(price.paramElements, 0, 1);
    expect(m.parametersBytes + m.gradientsBytes + m.optimizerBytes).toBe(16 * price.paramElements);
    const zero1 = paramMemory(price.paramElements, 1, 8);
    expect(zero1.optimizerBytes).toBe((12 * price.paramElements) / 8);
    expect(zero1.parametersBytes).toBe(2 * price.paramElements);
  });

  it('selective recomputation adds exactly the attention core to the backward pass', async () => {
    const none = await blockPrice(8, 'megatron', 'none');
    const selective = await blockPrice(8, 'megatron', 'selective');
    // The core Korthikanti et al. recompute: scores, softmax, its dropout and the context matmul,
    // whose two matmuls are 2·b·s²·h FLOPs each (all heads).
    const core = block.graph.ops.filter((op) => op.recomputeModules.includes('core_attn'));
    expect(core.map((op) => op.name)).toEqual([
      'block0.attn_scores',
      'block0.softmax',
      'block0.attn_dropout',
      'block0.attn_context',
    ]);
    for (const op of core.filter((o) => o.kind === 'matmul')) expect(op.flops).toBe(2 * b * s * s * h);
    const coreForward = core.reduce((sum, op) => sum + none.ops[op.index]!.cost.forwardSec, 0);
    expect(coreForward).toBeGreaterThan(0);
    expect(selective.backwardComputeSec - none.backwardComputeSec).toBeCloseTo(coreForward, 12);
    expect(selective.forwardComputeSec).toBe(none.forwardComputeSec);
  });
});
