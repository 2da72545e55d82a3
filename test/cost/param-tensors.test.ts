import { describe, expect, it } from 'vitest';
import {
  DEEPSPEED_MAX_REUSE_DISTANCE,
  heldParamTensors,
  regatheredAfterRecompute,
} from '../../src/cost/param-tensors.ts';
import { buildGraph } from '../../src/graph/graph.ts';
import { buildTransformer } from '../../src/model/index.ts';
import { TransformerSpec } from '../../src/schema/index.ts';
import { LLAMA3_8B } from '../support/models.ts';

/** The graph of a model's first transformer block. */
function firstBlock(spec: object) {
  const model = buildTransformer(TransformerSpec.parse(spec), { microBatch: 1, precision: 'bf16' });
  return buildGraph(model.layers.find((l) => l.name === 'block0')!.graph);
}

const paramsInGraph = (graph: ReturnType<typeof firstBlock>) =>
  [...graph.tensors.values()].filter((t) => t.param).length;

describe('parameter tensors as Megatron-LM’s layers hold them (its named parameters as the oracle)', () => {
  it('a GPT block holds 12: fused QKV weight and bias, projection, fc1, fc2 (weight and bias each), two layer norms (scale and shift)', () => {
    const block = firstBlock({
      kind: 'transformer',
      layers: 2,
      hidden: 1024,
      heads: 16,
      vocab: 51200,
      seqLen: 2048,
    });
    // The graph keeps q, k and v apart, each with its bias: 16 tensors.
    expect(paramsInGraph(block)).toBe(16);
    expect(heldParamTensors(block)).toBe(12);
  });

  it('a Llama block holds 6: linear_qkv, linear_proj, linear_fc1 (gate and up), linear_fc2, two RMSNorm scales', () => {
    const block = firstBlock({ ...LLAMA3_8B, layers: 2 });
    expect(paramsInGraph(block)).toBe(9);
    expect(heldParamTensors(block)).toBe(6);
  });

  it('leaves the experts’ tensors out of a MoE block: two norms, linear_qkv, linear_proj and the router remain', () => {
    const block = firstBlock({ ...LLAMA3_8B, layers: 2, moe: { experts: 8, topK: 2, ffnHidden: 1024 } });
    expect(heldParamTensors(block)).toBe(5);
  });
});

describe('what ZeRO-3 of 2021 gathers again after a recomputed forward (DeepSpeed’s reuse distance)', () => {
  const gpt = (hidden: number) =>
    firstBlock({ kind: 'transformer', layers: 2, hidden, heads: hidden / 128, vocab: 51200, seqLen: 2048 });

  it('in a GPT-3 175B block, every tensor but fc2’s: two thirds of the elements', () => {
    // Forward order: ln1, qkv weight and bias, proj weight and bias, ln2, fc1 weight and bias, fc2
    // weight and bias. Each waits twice the elements behind it; fc1's bias waits 2(4h² + h), over 1e9
    // from h = 11,180; fc2's weight only fc2's bias.
    const h = 12288;
    expect(regatheredAfterRecompute(gpt(h))).toEqual({ tensors: 10, elements: 8 * h * h + 12 * h });
  });

  it('nothing in a small block, everything when nothing may be kept', () => {
    // At h = 4096 even ln1 waits 2(12h² + 11h) ≈ 0.4e9 elements, under the 1e9 default.
    expect(DEEPSPEED_MAX_REUSE_DISTANCE).toBe(1e9);
    expect(regatheredAfterRecompute(gpt(4096))).toEqual({ tensors: 0, elements: 0 });
    const h = 1024;
    expect(regatheredAfterRecompute(gpt(h), 0)).toEqual({ tensors: 12, elements: 12 * h * h + 13 * h });
  });
});
