import { buildGraph, type OpGraph } from '../graph/graph.ts';
import { perOpRecomputedFlops, type RecomputableFlops, recomputableFlops } from '../graph/recompute.ts';
import { InvalidInputError } from '../schema/errors.ts';
import type { ModelSpec } from '../schema/index.ts';
import type { BuildOptions } from './dims.ts';
import { graphModels } from './graph-layers.ts';
import { buildTransformer } from './transformer.ts';

/** A layer ready for planning: its validated graph and what identifies identical layers. */
export interface PlannedLayer {
  readonly name: string;
  readonly signature: string;
  readonly graph: OpGraph;
  readonly input: string | null;
  readonly output: string;
  /** Blocks repeat: the hand-over from one copy to the next is priced inside the layer's ILP. */
  readonly carry?: { readonly from: string; readonly to: string };
  /**
   * Whether full recomputation redoes this layer. The frameworks checkpoint the transformer blocks
   * only: Megatron-LM's TransformerBlock its layers, torchtitan each block, DeepSpeed's pipeline the
   * TransformerBlock layers the export names (checkpointable_layers); the embedding and the output
   * layer with its loss run once forward and keep what their backward needs (SC'21's FLOP count, Narayanan et al. 2021 §5.1, charges the logit layer one
   * forward and two backward passes against the blocks' four).
   */
  readonly checkpointed: boolean;
}

/** A model as the planner walks it: layers for one microbatch, and its totals. */
export interface PlannedModel {
  readonly name: string;
  readonly layers: readonly PlannedLayer[];
  /** Trained parameters one device holds of each layer (a share of the experts under expert parallelism). */
  readonly params: number;
  /** Forward FLOPs of one microbatch of the replica (every context-parallel share). */
  readonly forwardFlops: number;
  /** Forward FLOPs of one microbatch of the replica that full recomputation runs again (its checkpointed layers'). */
  readonly fullRecomputeFlops: number;
  /** Forward FLOPs per microbatch of the ops selective recomputation may redo, by their marks. */
  readonly recomputableFlops: readonly RecomputableFlops[];
  /** Forward FLOPs of one microbatch of the replica that per-op recomputation runs again (in its checkpointed layers). */
  readonly perOpRecomputeFlops: number;
  readonly tokensPerMicrobatch: number;
  /** Bytes handed from one stage to the next per microbatch (the residual stream). */
  readonly streamBytes: number;
}

/**
 * The model for one microbatch on one device of a pipeline replica: with context parallelism each
 * device holds a share of every sequence, with expert parallelism a share of the experts. Totals
 * (`forwardFlops`, `recomputableFlops`) are the replica's: every context-parallel share together. An
 * ONNX model is a graph once the planner has imported it (src/import sits above this room), so it
 * arrives here as `graph`.
 */
export function planModel(spec: ModelSpec, options: BuildOptions): PlannedModel {
  if (spec.kind === 'transformer') return transformerModel(spec, options);
  // The first granularity always yields a model; the search (src/planner) tries the others.
  if (spec.kind === 'graph') return graphModels(spec.graph, 0)[0]!;
  throw new InvalidInputError([
    { path: 'model.kind', message: 'an ONNX model is planned from the graph the planner imports from it' },
  ]);
}

function transformerModel(
  spec: Extract<ModelSpec, { kind: 'transformer' }>,
  options: BuildOptions,
): PlannedModel {
  const { microBatch } = options;
  const model = buildTransformer(spec, options);
  const shares = options.contextParallel?.degree ?? 1;
  const graphs = new Map<string, OpGraph>();
  const representative = new Map<string, (typeof model.layers)[number]>();
  const copies = new Map<string, number>();
  for (const layer of model.layers) {
    if (!representative.has(layer.signature)) representative.set(layer.signature, layer);
    copies.set(layer.signature, (copies.get(layer.signature) ?? 0) + 1);
  }
  const recomputable: RecomputableFlops[] = [];
  let perOpRecomputeFlops = 0;
  const layers = model.layers.map((layer): PlannedLayer => {
    // Identical layers share one validated graph, the first one's, names and all.
    const first = representative.get(layer.signature)!;
    let graph = graphs.get(layer.signature);
    if (graph === undefined) {
      graph = buildGraph(first.graph);
      graphs.set(layer.signature, graph);
    }
    recomputable.push(...recomputableFlops(graph.ops, shares));
    if (layer.kind === 'block') perOpRecomputeFlops += perOpRecomputedFlops(graph, shares);
    const repeated = copies.get(layer.signature)! > 1 && first.input !== null;
    return {
      name: layer.name,
      signature: layer.signature,
      graph,
      input: first.input,
      output: first.output,
      ...(repeated ? { carry: { from: first.output, to: first.input! } } : {}),
      checkpointed: layer.kind === 'block',
    };
  });
  const stream = buildGraph(model.layers[0]!.graph).tensors.get(model.layers[0]!.output)!;
  return {
    name: model.name,
    layers,
    params: model.params,
    forwardFlops: model.forwardFlops * shares,
    fullRecomputeFlops: model.blockForwardFlops * shares,
    recomputableFlops: recomputable,
    perOpRecomputeFlops,
    tokensPerMicrobatch: microBatch * spec.seqLen,
    streamBytes: stream.bytes,
  };
}
