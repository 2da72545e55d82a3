/**
 * The `PipelineModule` layer list a meshplan DeepSpeed export builds for a transformer, and the
 * stage cuts DeepSpeed's partition methods make of it (`PipelineModule._partition_layers` at
 * v0.16.4). The list is the planned model's layers with the head written as DeepSpeed's own GPT
 * pipeline writes it: the final norm, then the output projection, which with tied embeddings is a
 * `TiedLayerSpec` of the embedding module. A DeepSpeed cut is a plan's cut when it keeps those two
 * on one stage and leaves no stage empty.
 */
import type { TransformerDims } from '../../model/dims.ts';
import { modelLayers } from '../../model/transformer-layers.ts';
import { DeepSpeedPartitionMethod, type OpGraphSpec } from '../../schema/index.ts';
import { partitionBalanced, partitionUniform } from './partition.ts';

export type LayerClass = 'Embedding' | 'TransformerBlock' | 'FinalNorm' | 'LMHead';

export interface PipelineLayer {
  /** The layer's class in the training script: what `type:` partitioning matches by name. */
  readonly className: LayerClass;
  /**
   * Trainable parameters of the module DeepSpeed builds for it (`_count_layer_params`, which
   * builds a tied layer's whole module at each place it appears).
   */
  readonly parameters: number;
  /** Built as `TiedLayerSpec("embed", Embedding, …)`: the embedding's module, shared. */
  readonly tied: boolean;
}

/**
 * The partition methods an export may name, preferred in the schema's order: `type:` and `uniform`
 * cut the same way whatever the layer classes hold; `parameters` needs each layer to hold exactly
 * the parameters that were priced.
 */
const PARTITION_METHODS = DeepSpeedPartitionMethod.options;
type PartitionMethod = DeepSpeedPartitionMethod;

const paramsOf = (graph: OpGraphSpec, keep: (tensor: string) => boolean = () => true) =>
  graph.tensors
    .filter((t) => t.param && keep(t.name))
    .reduce((s, t) => s + t.shape.reduce((a, b) => a * b, 1), 0);

function buildLayers(dims: TransformerDims): PipelineLayer[] {
  const planned = modelLayers(dims);
  const embedding = planned[0]!;
  const head = planned.at(-1)!;
  const normParams = new Set(head.graph.ops.filter((o) => o.kind === 'norm').flatMap((o) => o.inputs));
  const embeddingParams = paramsOf(embedding.graph);
  return [
    { className: 'Embedding', parameters: embeddingParams, tied: dims.tiedEmbeddings },
    ...planned.slice(1, -1).map(
      (block): PipelineLayer => ({
        className: 'TransformerBlock',
        parameters: paramsOf(block.graph),
        tied: false,
      }),
    ),
    { className: 'FinalNorm', parameters: paramsOf(head.graph, (t) => normParams.has(t)), tied: false },
    dims.tiedEmbeddings
      ? { className: 'Embedding', parameters: embeddingParams, tied: true }
      : { className: 'LMHead', parameters: paramsOf(head.graph, (t) => !normParams.has(t)), tied: false },
  ];
}

const layerLists = new Map<string, readonly PipelineLayer[]>();

/** The layer list for this model (memoised: the search asks once per configuration). */
export function pipelineLayers(dims: TransformerDims): readonly PipelineLayer[] {
  // Parameter counts do not depend on the microbatch.
  const key = JSON.stringify({ ...dims, microBatch: 1 });
  let layers = layerLists.get(key);
  if (layers === undefined) {
    layers = buildLayers({ ...dims, microBatch: 1 });
    layerLists.set(key, layers);
  }
  return layers;
}

/** DeepSpeed's `parts` for `method` over `layers` on `stages` stages. */
export function partsOf(method: PartitionMethod, layers: readonly PipelineLayer[], stages: number): number[] {
  if (method === 'uniform') return partitionUniform(layers.length, stages);
  const weights =
    method === 'parameters'
      ? layers.map((l) => l.parameters)
      : layers.map((l) => (l.className === 'TransformerBlock' ? 1 : 0));
  return partitionBalanced(weights, stages);
}

/**
 * The planned model's layers per stage for DeepSpeed's `parts` (the final norm and the output
 * projection are the planned head, one layer); null when DeepSpeed puts them on different stages
 * or leaves a stage without a layer.
 */
export function plannedCut(parts: readonly number[], pipelineLayerCount: number): number[] | null {
  const head = pipelineLayerCount - 1;
  const sizes = parts.slice(1).map((end, s) => end - parts[s]!);
  if (sizes.some((n) => n === 0) || parts.slice(1, -1).includes(head)) return null;
  return sizes.map((n, s) => (s === sizes.length - 1 ? n - 1 : n));
}

export interface MethodCut {
  readonly method: PartitionMethod;
  /** DeepSpeed's boundaries over the layer list. */
  readonly parts: readonly number[];
  /** The planned model's layers per stage (embedding and head counted as layers). */
  readonly cut: readonly number[];
}

const methodCuts = new Map<string, readonly MethodCut[]>();

/** What each partition method makes of this model on `stages` stages, where it is a plan's cut. */
export function deepspeedMethodCuts(dims: TransformerDims, stages: number): readonly MethodCut[] {
  const layers = pipelineLayers(dims);
  const key = `${JSON.stringify({ ...dims, microBatch: 1 })}/${stages}`;
  let cuts = methodCuts.get(key);
  if (cuts === undefined) {
    cuts = PARTITION_METHODS.flatMap((method) => {
      const parts = partsOf(method, layers, stages);
      const cut = plannedCut(parts, layers.length);
      return cut === null ? [] : [{ method, parts, cut }];
    });
    methodCuts.set(key, cuts);
  }
  return cuts;
}

/** The distinct cuts DeepSpeed's methods give: the only ones a DeepSpeed plan may use. */
export function deepspeedStageCuts(dims: TransformerDims, stages: number): readonly (readonly number[])[] {
  const distinct = new Map<string, readonly number[]>();
  for (const { cut } of deepspeedMethodCuts(dims, stages)) distinct.set(cut.join(','), cut);
  return [...distinct.values()];
}

/** The planned model's layers per stage for transformer blocks per stage (embedding first, head last). */
export function layersOfBlocks(blocks: readonly number[]): number[] {
  return blocks.map((n, s) => n + (s === 0 ? 1 : 0) + (s === blocks.length - 1 ? 1 : 0));
}

/** The first method (in preference order) whose cut is `blocks` transformer blocks per stage; null if none. */
export function methodForBlocks(dims: TransformerDims, blocks: readonly number[]): MethodCut | null {
  const wanted = layersOfBlocks(blocks).join(',');
  return deepspeedMethodCuts(dims, blocks.length).find((m) => m.cut.join(',') === wanted) ?? null;
}
