import { buildGraph, paramElements } from '../graph/graph.ts';
import type { OpGraphSpec } from '../schema/graph.ts';
import type { TransformerSpec } from '../schema/model.ts';
import { type BuildOptions, resolveDims } from './dims.ts';
import { graphSignature } from './signature.ts';
import { type ModelLayer, modelLayers } from './transformer-layers.ts';

export interface TransformerModel {
  readonly name: string;
  /** Embedding, blocks, head: each layer reads the previous one's output. */
  readonly layers: readonly ModelLayer[];
  /** Trained parameters; a tied embedding table counts once. */
  readonly params: number;
  /** Forward FLOPs of one microbatch: the sum over every op of the whole graph. */
  readonly forwardFlops: number;
  /** Of `forwardFlops`, the transformer blocks' (what full recomputation runs again). */
  readonly blockForwardFlops: number;
  /**
   * With tied embeddings, the embedding table and the head's copy of it (one parameter in the
   * model, two tensors in the graph): a stage holding both layers should count it once.
   */
  readonly tied: { readonly embedding: string; readonly head: string } | null;
}

interface GraphTotals {
  readonly params: number;
  readonly flops: number;
}

/** Validates a layer graph and sums its parameters and FLOPs (as the graph module counts them). */
function totals(graph: OpGraphSpec): GraphTotals {
  const built = buildGraph(graph);
  return { params: paramElements(built), flops: built.ops.reduce((sum, op) => sum + op.flops, 0) };
}

/**
 * Expands a transformer spec into layer graphs for one microbatch (dims in `dims.ts`, layers in
 * `transformer-layers.ts`). Identical layers are validated and counted once per signature, so a
 * 96-block model costs little more than one block.
 */
export function buildTransformer(spec: TransformerSpec, options: BuildOptions): TransformerModel {
  const dims = resolveDims(spec, options);
  const bySignature = new Map<string, GraphTotals>();
  let params = 0;
  let forwardFlops = 0;
  let blockForwardFlops = 0;
  const layers = modelLayers(dims).map((layer): ModelLayer => {
    const signature = graphSignature(layer.graph);
    let counted = bySignature.get(signature);
    if (counted === undefined) {
      counted = totals(layer.graph);
      bySignature.set(signature, counted);
    }
    params += counted.params;
    forwardFlops += counted.flops;
    if (layer.kind === 'block') blockForwardFlops += counted.flops;
    return { ...layer, signature };
  });
  const tied = dims.tiedEmbeddings ? { embedding: 'embedding.table', head: 'head.table' } : null;
  if (tied !== null) params -= dims.vocab * dims.hidden;
  return { name: dims.name, layers, params, forwardFlops, blockForwardFlops, tied };
}
