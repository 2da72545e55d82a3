import { describe, expect, it } from 'vitest';
import { resolveCluster } from '../../src/cluster/cluster.ts';
import { logicalMesh } from '../../src/cluster/mesh.ts';
import { planModel } from '../../src/model/planned.ts';
import { LayerSolver } from '../../src/planner/layer-solver.ts';
import { ClusterSpec, type RecomputeModule, TransformerSpec } from '../../src/schema/index.ts';

/*
 * Activations kept per layer under Megatron-LM's selective recompute modules, against closed forms
 * written from Korthikanti et al. (2022) eq. 2 term by term, with what each module's checkpoint
 * drops (Megatron-LM core_v0.19.0 TransformerConfig.recompute_modules): "layernorm" and "moe_act"
 * discard their output (CheckpointWithoutOutput), so the copy the next GEMM saved goes too; "mlp"
 * (and "core_attn") checkpoint normally, dropping what the module makes for itself and keeping its
 * input and output.
 */
const cluster = resolveCluster(ClusterSpec.parse({ gpu: 'A100-80GB', nodes: 1, gpusPerNode: 8 }));

async function activationBytes(
  block: Parameters<LayerSolver['price']>[0],
  t: number,
  recompute: 'none' | 'selective',
  modules?: readonly RecomputeModule[],
): Promise<number> {
  const solver = new LayerSolver({
    cluster,
    deadlineMs: Date.now() + 60_000,
    ...(modules ? { recomputeModules: modules } : {}),
  });
  return (await solver.price(block, logicalMesh(cluster, [1, t]), 'megatron', recompute))!.activationBytes;
}

describe('GPT-3 175B block (Korthikanti et al.: eager attention, dropout, biases)', () => {
  const [s, b, h, a] = [2048, 1, 12288, 96];
  const spec = TransformerSpec.parse({
    kind: 'transformer',
    layers: 96,
    hidden: h,
    heads: a,
    vocab: 51200,
    seqLen: s,
    attention: 'eager',
  });
  const block = planModel(spec, { microBatch: b, precision: 'bf16' }).layers[1]!;
  // Eq. 2 per layer: s·b·h·(10 + 24/t + 5·a·s/(h·t)); the 10 holds the two norms' outputs (2 + 2,
  // the QKV and fc1 inputs), the 24/t the MLP's 16/t (fc1 output 8/t, GeLU output 8/t).
  const attentionScores = (t: number) => (5 * a * s) / (h * t);

  it.each([1, 8])('layernorm, tp=%i: the two norm outputs go, s·b·h·(6 + 24/t + 5as/(ht))', async (t) => {
    const bytes = await activationBytes(block, t, 'selective', ['layernorm']);
    expect(bytes).toBeCloseTo(s * b * h * (6 + 24 / t + attentionScores(t)), -3);
  });

  it.each([1, 8])('mlp, tp=%i: the MLP keeps its input only, s·b·h·(10 + 8/t + 5as/(ht))', async (t) => {
    const bytes = await activationBytes(block, t, 'selective', ['mlp']);
    expect(bytes).toBeCloseTo(s * b * h * (10 + 8 / t + attentionScores(t)), -3);
  });

  it.each([1, 8])('core_attn + layernorm + mlp, tp=%i: s·b·h·(6 + 8/t)', async (t) => {
    const bytes = await activationBytes(block, t, 'selective', ['core_attn', 'layernorm', 'mlp']);
    expect(bytes).toBeCloseTo(s * b * h * (6 + 8 / t), -3);
  });

  it('default selective is the attention core alone, as before: s·b·h·(10 + 24/t)', async () => {
    const listed = await activationBytes(block, 8, 'selective', ['core_attn']);
    expect(await activationBytes(block, 8, 'selective')).toBe(listed);
    expect(listed).toBeCloseTo(s * b * h * (10 + 24 / 8), -3);
  });
});

describe('gpt-oss-120b block (flash attention, GQA, 128 experts top-4, SwiGLU, ep 8)', () => {
  const [s, b, h, n, g, d, E, k, f] = [4096, 4, 2880, 64, 8, 64, 128, 4, 2880];
  const spec = TransformerSpec.parse({
    kind: 'transformer',
    layers: 36,
    hidden: h,
    heads: n,
    kvHeads: g,
    headDim: d,
    ffnHidden: f,
    vocab: 201088,
    seqLen: s,
    activation: 'swiglu',
    attention: 'flash',
    moe: { experts: E, topK: k, ffnHidden: f, dropless: true },
  });
  const block = planModel(spec, { microBatch: b, precision: 'bf16', expertParallel: 8 }).layers[1]!;
  const tokens = s * b;
  // Balanced dropless routing: the local experts' slots hold k copies of each of the device's tokens.
  const slots = k * tokens;
  /** Bytes per layer kept either way (bf16 = 2 bytes, int32 indices = 4). */
  const kept =
    tokens * (2 * h) + // ln1's input (the residual stream)
    tokens * 2 * (n * d + 2 * g * d) + // flash attention's q, k, v
    tokens * 2 * n * d + // the output projection's input
    tokens * (2 * h) + // ln2's input
    tokens * 2 * E + // the router's softmax output
    tokens * 4 * k + // the chosen experts' indices
    slots * 4 + // which token each expert slot holds
    slots * 2 * h + // the experts' input (gate and up projections)
    slots * 2 * 2 * f + // gate and up outputs (the activation's input, moe_act's input)
    slots * 2 + // each slot's router weight, which the weighted SwiGLU scales by
    tokens * 2 * k; // the routing weights (their permutation to the slots keeps them)
  // The combine, a plain sum once the weights are applied in the activation, keeps no expert output
  // (experts.py weighted_bias_swiglu_impl, core_v0.19.0).
  const normOutputs = 2 * tokens * 2 * h; // x_norm1 (QKV input), x_norm2 (router and dispatch input)
  // The gated product (down's input); the fused SwiGLU keeps no SiLU output (fused_bias_swiglu.py).
  const activationOutputs = slots * 2 * f;

  it('no recompute keeps the norm and activation outputs as well', async () => {
    expect(await activationBytes(block, 1, 'none')).toBe(kept + normOutputs + activationOutputs);
  });

  it('layernorm + moe_act (the Megatron-Bridge B200 recipe) drop exactly those', async () => {
    expect(await activationBytes(block, 1, 'selective', ['layernorm', 'moe_act'])).toBe(kept);
  });

  it("with biases, moe_act's checkpoint still holds fc1's output though a bias add, keeping nothing, opens it", async () => {
    // gpt-oss has biases on every linear layer (Megatron-Bridge's gpt-oss bridge: add_bias_linear).
    // The experts' activation module now starts at the gate and up biases, whose add keeps nothing
    // for backward; recomputing the module needs its input all the same.
    const biased = planModel(TransformerSpec.parse({ ...spec, bias: true }), {
      microBatch: b,
      precision: 'bf16',
      expertParallel: 8,
    }).layers[1]!;
    expect(await activationBytes(biased, 1, 'selective', ['layernorm', 'moe_act'])).toBe(kept);
    expect(await activationBytes(biased, 1, 'selective', ['moe_act'])).toBe(kept + normOutputs);
  });

  it('moe_act alone drops the activation outputs only', async () => {
    expect(await activationBytes(block, 1, 'selective', ['moe_act'])).toBe(kept + normOutputs);
  });

  it("re-runs the forward of the two norms and the experts' activation in backward, nothing else", async () => {
    const price = async (recompute: 'none' | 'selective') => {
      const solver = new LayerSolver({
        cluster,
        deadlineMs: Date.now() + 60_000,
        recomputeModules: ['layernorm', 'moe_act'],
      });
      return (await solver.price(block, logicalMesh(cluster, [1, 1]), 'megatron', recompute))!;
    };
    const [none, selective] = [await price('none'), await price('selective')];
    const redone = block.graph.ops.filter((op) =>
      ['ln1', 'ln2', 'expert_swiglu'].some((name) => op.name.endsWith(`.${name}`)),
    );
    expect(redone).toHaveLength(3);
    const redoneSec = redone.reduce((sum, op) => sum + none.ops[op.index]!.cost.forwardSec, 0);
    expect(redoneSec).toBeGreaterThan(0);
    expect(selective.backwardComputeSec - none.backwardComputeSec).toBeCloseTo(redoneSec, 12);
    expect(selective.forwardComputeSec).toBe(none.forwardComputeSec);
  });
});
