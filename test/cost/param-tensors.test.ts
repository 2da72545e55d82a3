import { describe, expect, it } from 'vitest';
import { heldParamTensors } from '../../src/cost/param-tensors.ts';
import { buildGraph } from '../../src/graph/graph.ts';
import { buildTransformer } from '../../src/model/index.ts';
import { TransformerSpec } from '../../src/schema/index.ts';
import { LLAMA3_8B } from '../support/models.ts';

/** Each layer's graph, with the parameter tensors each op reads first (the op that owns them). */
function layersOf(spec: object) {
  const model = buildTransformer(TransformerSpec.parse(spec), { microBatch: 1, precision: 'bf16' });
  return model.layers.map((layer) => {
    const graph = buildGraph(layer.graph);
    const owned = new Map<number, number>();
    const seen = new Set<string>();
    for (const op of graph.ops)
      for (const name of op.inputs)
        if (graph.tensors.get(name)!.param && !seen.has(name)) {
          seen.add(name);
          owned.set(op.index, (owned.get(op.index) ?? 0) + 1);
        }
    return { name: layer.name, graph, owned: (op: number) => owned.get(op) ?? 0 };
  });
}

describe('parameter tensors as Megatron-LM’s layers hold them (its named parameters as the oracle)', () => {
  it('a GPT block holds 12: fused QKV weight and bias, projection, fc1, fc2 (weight and bias each), two layer norms (scale and shift)', () => {
    const gpt = { kind: 'transformer', layers: 2, hidden: 1024, heads: 16, vocab: 51200, seqLen: 2048 };
    const block = layersOf(gpt).find((l) => l.name === 'block0')!;
    // The graph keeps q, k and v apart, each with its bias: 16 tensors.
    let inGraph = 0;
    for (const op of block.graph.ops) inGraph += block.owned(op.index);
    expect(inGraph).toBe(16);
    expect(heldParamTensors(block.graph, block.owned)).toBe(12);
  });

  it('a Llama block holds 6: linear_qkv, linear_proj, linear_fc1 (gate and up), linear_fc2, two RMSNorm scales', () => {
    const block = layersOf({ ...LLAMA3_8B, layers: 2 }).find((l) => l.name === 'block0')!;
    expect(heldParamTensors(block.graph, block.owned)).toBe(6);
  });

  it('counts nothing where no op owns a parameter', () => {
    const block = layersOf({ ...LLAMA3_8B, layers: 2 }).find((l) => l.name === 'block0')!;
    expect(heldParamTensors(block.graph, () => 0)).toBe(0);
  });
});
