import { describe, expect, it } from 'vitest';
import { heldParamTensors } from '../../src/cost/param-tensors.ts';
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
