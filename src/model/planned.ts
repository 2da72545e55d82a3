import { buildGraph, type OpGraph } from '../graph/graph.ts';
import { clusterLayers } from '../graph/layers.ts';
import { InvalidInputError } from '../schema/errors.ts';
import type { ModelSpec, OpGraphSpec } from '../schema/index.ts';
import type { BuildOptions } from './dims.ts';
import { graphSignature } from './signature.ts';
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
}

/** A model as the planner walks it: layers for one microbatch, and its totals. */
export interface PlannedModel {
  readonly name: string;
  readonly layers: readonly PlannedLayer[];
  /** Trained parameters one device holds of each layer (a share of the experts under expert parallelism). */
  readonly params: number;
  /** Forward FLOPs of one microbatch of the replica (every context-parallel share). */
  readonly forwardFlops: number;
  /** FLOPs of the ops selective recomputation redoes, per microbatch (forward). */
  readonly selectiveFlops: number;
  readonly tokensPerMicrobatch: number;
  /** Bytes handed from one stage to the next per microbatch (the residual stream). */
  readonly streamBytes: number;
}

/** Layers a general graph is cut into (Alpa's operator clustering) when the request does not say. */
const GRAPH_LAYERS = 8;

/**
 * The model for one microbatch on one device of a pipeline replica: with context parallelism each
 * device holds a share of every sequence, with expert parallelism a share of the experts. Totals
 * (`forwardFlops`, `selectiveFlops`) are the replica's: every context-parallel share together.
 */
export function planModel(spec: ModelSpec, options: BuildOptions): PlannedModel {
  return spec.kind === 'transformer' ? transformerModel(spec, options) : graphModel(spec.graph);
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
  let selectiveFlops = 0;
  const layers = model.layers.map((layer): PlannedLayer => {
    // Identical layers share one validated graph, the first one's, names and all.
    const first = representative.get(layer.signature)!;
    let graph = graphs.get(layer.signature);
    if (graph === undefined) {
      graph = buildGraph(first.graph);
      graphs.set(layer.signature, graph);
    }
    selectiveFlops += graph.ops.filter((op) => op.selectiveRecompute).reduce((s, op) => s + op.flops, 0);
    const repeated = copies.get(layer.signature)! > 1 && first.input !== null;
    return {
      name: layer.name,
      signature: layer.signature,
      graph,
      input: first.input,
      output: first.output,
      ...(repeated ? { carry: { from: first.output, to: first.input! } } : {}),
    };
  });
  const stream = buildGraph(model.layers[0]!.graph).tensors.get(model.layers[0]!.output)!;
  return {
    name: model.name,
    layers,
    params: model.params,
    forwardFlops: model.forwardFlops * shares,
    selectiveFlops: selectiveFlops * shares,
    tokensPerMicrobatch: microBatch * spec.seqLen,
    streamBytes: stream.bytes,
  };
}

/** A general graph: Alpa's FLOP-balanced clustering cuts it into layers; each becomes a subgraph. */
function graphModel(spec: OpGraphSpec): PlannedModel {
  const whole = buildGraph(spec);
  const count = Math.min(GRAPH_LAYERS, whole.ops.length);
  const layerOf = clusterLayers(whole, count);
  const layers: PlannedLayer[] = [];
  let streamBytes = 0;
  for (let l = 0; l < count; l++) {
    const ops = whole.ops.filter((op) => layerOf[op.index] === l);
    if (ops.length === 0) continue;
    const names = new Set(ops.flatMap((op) => [...op.inputs, op.output]));
    const sub: OpGraphSpec = {
      name: `${whole.name}.layer${l}`,
      tensors: spec.tensors.filter((t) => names.has(t.name)),
      ops: spec.ops.filter((op) => ops.some((o) => o.name === op.name)),
    };
    const crossing = [...names].filter((n) => {
      const p = whole.tensors.get(n)!.producer;
      return p !== null && layerOf[p] !== l;
    });
    streamBytes = Math.max(
      streamBytes,
      crossing.reduce((s, n) => s + whole.tensors.get(n)!.bytes, 0),
    );
    const graph = buildGraph(sub);
    layers.push({
      name: `layer${l}`,
      signature: graphSignature(sub),
      graph,
      input: crossing[0] ?? null,
      output: ops.at(-1)!.output,
    });
  }
  const params = [...whole.tensors.values()].filter((t) => t.param).reduce((s, t) => s + t.numel, 0);
  if (params === 0) {
    throw new InvalidInputError([
      {
        path: 'model.graph.tensors',
        message: 'the graph has no parameter to train (mark weights with "param": true)',
      },
    ]);
  }
  return {
    name: whole.name,
    layers,
    params,
    forwardFlops: whole.ops.reduce((s, op) => s + op.flops, 0),
    selectiveFlops: whole.ops.filter((op) => op.selectiveRecompute).reduce((s, op) => s + op.flops, 0),
    tokensPerMicrobatch: 0,
    streamBytes,
  };
}
