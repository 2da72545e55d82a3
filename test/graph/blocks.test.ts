import { describe, expect, it } from 'vitest';
import { repeatedBlocks } from '../../src/graph/blocks.ts';
import { buildGraph } from '../../src/graph/graph.ts';
import { buildTransformer, wholeGraph } from '../../src/model/index.ts';

/** The transformer builder's whole model as one graph: the builder knows where its blocks are. */
function transformer(layers: number, extra: Record<string, unknown> = {}) {
  const spec = {
    kind: 'transformer',
    layers,
    hidden: 256,
    heads: 4,
    vocab: 1000,
    seqLen: 64,
    ...extra,
  } as const;
  const model = buildTransformer(spec as never, { microBatch: 2, precision: 'bf16' });
  const perLayer = model.layers.map((l) => l.graph.ops.length);
  return { graph: buildGraph(wholeGraph(model)), perLayer };
}

describe('repeated blocks', () => {
  it.each([2, 5, 12])('finds the %i blocks of a transformer, cut at its residual stream', (layers) => {
    const { graph, perLayer } = transformer(layers);
    expect(repeatedBlocks(graph)).toEqual([{ start: perLayer[0], period: perLayer[1], copies: layers }]);
  });

  it('finds the blocks of a Llama-style stack (GQA, SwiGLU, RMSNorm) too', () => {
    const { graph, perLayer } = transformer(6, { kvHeads: 2, activation: 'swiglu' });
    expect(repeatedBlocks(graph)).toEqual([{ start: perLayer[0], period: perLayer[1], copies: 6 }]);
  });

  it('finds nothing in a single block', () => {
    expect(repeatedBlocks(transformer(1).graph)).toEqual([]);
  });
});
