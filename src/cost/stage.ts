/**
 * A pipeline stage's price (DESIGN.md §4, §6): its layers' per-microbatch latency with tensor
 * parallelism's overlap, the sends to its neighbours, its data-parallel traffic and optimizer step,
 * and its memory. Layers are priced once per (mesh, layout) and summed by prefix, so any range of
 * them is a stage in O(1).
 */
import type { Cluster } from '../cluster/cluster.ts';
import { sendRecvSec } from '../cluster/collectives.ts';
import type { LogicalMesh, MeshAxis } from '../cluster/mesh.ts';
import {
  type CollectiveUnits,
  type DataParallelTraffic,
  dataParallelSec,
  exposedGradientSec,
} from './data-parallel.ts';
import type { LayoutEval } from './layout-eval.ts';
import { type ParamMemory, paramMemory, type StageMemory, WEIGHT_BYTES, zero3WorkingSet } from './memory.ts';
import { optimizerStepSec } from './optimizer.ts';
import type { PipelineConfig } from './pipeline-config.ts';
import type { StageLinks } from './placement.ts';

export { type OuterDegrees, type StageLinks, stageLinks } from './placement.ts';

/** Per-layer prices of one (mesh, layout, recompute) over the whole model, summed by prefix. */
export class LayerSeries {
  private readonly latency: Float64Array;
  private readonly params: Float64Array;
  private readonly expertParams: Float64Array;
  private readonly tensors: Float64Array;
  private readonly regatheredTensors: Float64Array;
  private readonly regatheredElements: Float64Array;
  private readonly regatheredLayers: Float64Array;
  /** Layers holding expert parameters, by prefix: their data-parallel traffic goes one collective each. */
  private readonly expertLayers: Float64Array;
  private readonly quantizedWeights: Float64Array;
  private readonly expertQuantizedWeights: Float64Array;
  private readonly activations: Float64Array;
  private readonly gradSync: Float64Array;
  private readonly forward: Float64Array;
  private readonly backward: Float64Array;
  /**
   * What overlap hides, by prefix, per combination of overlaps (bits: 1 Transformer Engine's TP
   * overlap, 2 the all-to-alls', 4 input gradients alongside weight gradients), built on first use.
   */
  private readonly hideable = new Map<number, Float64Array>();
  private readonly tpOverlap: number;
  /** Range maximum of one layer's parameters (sparse table: level k spans 2^k layers), built on first use. */
  private largestLayer: Float64Array[] | null = null;

  /** `tpOverlap`: the share of a collective overlap can hide behind compute (the GPU's efficiency). */
  constructor(
    readonly mesh: LogicalMesh,
    readonly prices: readonly LayoutEval[],
    tpOverlap: number,
  ) {
    const prefix = (f: (p: LayoutEval) => number) => prefixSums(prices, f);
    this.latency = prefix((p) => p.totalSec);
    this.params = prefix((p) => p.paramElements);
    this.expertParams = prefix((p) => p.expertParamElements);
    this.tensors = prefix((p) => p.paramTensors);
    this.regatheredTensors = prefix((p) => p.regathered.tensors);
    this.regatheredElements = prefix((p) => p.regathered.elements);
    this.regatheredLayers = prefix((p) => (p.regathered.tensors > 0 ? 1 : 0));
    this.expertLayers = prefix((p) => (p.expertParamElements > 0 ? 1 : 0));
    this.quantizedWeights = prefix((p) => p.quantizedWeightElements);
    this.expertQuantizedWeights = prefix((p) => p.expertQuantizedWeightElements);
    this.activations = prefix((p) => p.activationBytes);
    this.gradSync = prefix((p) => p.gradSyncSec);
    this.forward = prefix((p) => p.forwardComputeSec);
    this.backward = prefix((p) => p.backwardComputeSec);
    this.tpOverlap = tpOverlap;
  }

  /**
   * What overlap can hide of one layer, never more than the compute it hides behind: the input
   * gradients reduced alongside weight-gradient GEMMs (Megatron-LM's linear layers; Transformer Engine's
   * userbuffers overlap does the same as its "bulk" overlap), the tpOverlap share of the other
   * tensor-parallel collectives under Transformer Engine's overlap (not frameworks' own output gathers,
   * which it does not reach), and that share of the all-to-alls.
   */
  private hiddenOfLayer(p: LayoutEval, overlaps: Overlaps): number {
    const ub = overlaps.overlapTensorParallelComm;
    const alongsideWgrad = ub || overlaps.overlapInputGradientReduce ? p.inputGradientHideableSec : 0;
    // A framework's own output gather (Megatron's QKV past the key/value heads) is a plain all-gather.
    const overlappable = p.commSec - p.outputGatherSec + p.reshardSec - alongsideWgrad;
    const tp = alongsideWgrad + (ub ? this.tpOverlap * overlappable : 0);
    const ep = overlaps.overlapExpertParallelComm ? this.tpOverlap * p.epCommSec : 0;
    return Math.min(tp + ep, p.forwardComputeSec + p.backwardComputeSec);
  }

  latencySec(first: number, last: number): number {
    return this.latency[last + 1]! - this.latency[first]!;
  }
  paramElements(first: number, last: number): number {
    return this.params[last + 1]! - this.params[first]!;
  }
  expertParamElements(first: number, last: number): number {
    return this.expertParams[last + 1]! - this.expertParams[first]!;
  }
  /** Parameter tensors of layers first..last that are not experts'. */
  paramTensors(first: number, last: number): number {
    return this.tensors[last + 1]! - this.tensors[first]!;
  }
  /**
   * Of those, what DeepSpeed's ZeRO-3 gathers again after a recomputed forward: the tensors, their
   * elements, and the layers they are in.
   */
  regathered(first: number, last: number): { tensors: number; elements: number; layers: number } {
    return {
      tensors: this.regatheredTensors[last + 1]! - this.regatheredTensors[first]!,
      elements: this.regatheredElements[last + 1]! - this.regatheredElements[first]!,
      layers: this.regatheredLayers[last + 1]! - this.regatheredLayers[first]!,
    };
  }
  expertLayerCount(first: number, last: number): number {
    return this.expertLayers[last + 1]! - this.expertLayers[first]!;
  }
  quantizedWeightElements(first: number, last: number): number {
    return this.quantizedWeights[last + 1]! - this.quantizedWeights[first]!;
  }
  expertQuantizedWeightElements(first: number, last: number): number {
    return this.expertQuantizedWeights[last + 1]! - this.expertQuantizedWeights[first]!;
  }
  activationBytes(first: number, last: number): number {
    return this.activations[last + 1]! - this.activations[first]!;
  }
  gradSyncSec(first: number, last: number): number {
    return this.gradSync[last + 1]! - this.gradSync[first]!;
  }
  /** What the overlaps `overlaps` turns on hide of layers first..last. */
  hiddenByOverlapSec(first: number, last: number, overlaps: Overlaps): number {
    const key =
      (overlaps.overlapTensorParallelComm ? 1 : 0) |
      (overlaps.overlapExpertParallelComm ? 2 : 0) |
      (overlaps.overlapInputGradientReduce ? 4 : 0);
    if (key === 0) return 0;
    let sums = this.hideable.get(key);
    if (sums === undefined) {
      sums = prefixSums(this.prices, (p) => this.hiddenOfLayer(p, overlaps));
      this.hideable.set(key, sums);
    }
    return sums[last + 1]! - sums[first]!;
  }
  /** The most parameters any one layer of first..last holds on a device (before ZeRO shards them). */
  largestLayerParamElements(first: number, last: number): number {
    if (this.largestLayer === null) {
      const levels = [Float64Array.from(this.prices, (p) => p.paramElements)];
      for (let span = 2; span <= this.prices.length; span *= 2) {
        const below = levels[levels.length - 1]!;
        const level = new Float64Array(this.prices.length - span + 1);
        for (let i = 0; i < level.length; i++) level[i] = Math.max(below[i]!, below[i + span / 2]!);
        levels.push(level);
      }
      this.largestLayer = levels;
    }
    const k = Math.floor(Math.log2(last - first + 1));
    const level = this.largestLayer[k]!;
    return Math.max(level[first]!, level[last - (1 << k) + 1]!);
  }
  forwardComputeSec(first: number, last: number): number {
    return this.forward[last + 1]! - this.forward[first]!;
  }
  backwardComputeSec(first: number, last: number): number {
    return this.backward[last + 1]! - this.backward[first]!;
  }
}

/** Sums of `f` over the first i layers, i = 0..n: a range's total is two lookups. */
function prefixSums(prices: readonly LayoutEval[], f: (p: LayoutEval) => number): Float64Array {
  const out = new Float64Array(prices.length + 1);
  for (let i = 0; i < prices.length; i++) out[i + 1] = out[i]! + f(prices[i]!);
  return out;
}

/** The overlaps of a runtime that hide parts of a layer's time behind its compute. */
export type Overlaps = Pick<
  PipelineConfig,
  'overlapTensorParallelComm' | 'overlapExpertParallelComm' | 'overlapInputGradientReduce'
>;

export interface StagePrice extends StageMemory {
  /** Forward + backward of one microbatch: layers, pipeline sends, per-microbatch ZeRO traffic. */
  readonly latencySec: number;
  readonly layersSec: number;
  /** Of the layers' collectives, what the runtime's overlaps hide behind their compute (left out of layersSec). */
  readonly hiddenByOverlapSec: number;
  readonly ppCommSec: number;
  /** One hand-over of the residual stream to a neighbour stage (or its gradient back): the unit of ppCommSec. */
  readonly handOverSec: number;
  readonly dpPerMicrobatchSec: number;
  /**
   * Paid once per step: gradient traffic across replicas plus the all-reduce of gradients the
   * stage's own layout leaves partial (a batch split inside the stage).
   */
  readonly dpPerStepSec: number;
  readonly optimizerSec: number;
  readonly paramElements: number;
}

/**
 * Prices layers first..last as one stage. The pipeline hand-over (the residual stream, split over
 * the stage's devices as Megatron's scatter/gather optimisation does) is sent forward at the end
 * and its gradient backward at the start.
 */
export function priceStage(
  series: LayerSeries,
  first: number,
  last: number,
  layerCount: number,
  streamBytes: number,
  links: StageLinks,
  config: PipelineConfig,
  cluster: Cluster,
): StagePrice {
  const hiddenByOverlapSec = series.hiddenByOverlapSec(first, last, config);
  const layersSec = series.latencySec(first, last) - hiddenByOverlapSec;
  const sendBytes = streamBytes / series.mesh.devices;
  const send = sendRecvSec(links.pipelineAlphaSec, links.pipelineBetaSecPerByte, sendBytes);
  const ppCommSec = (last < layerCount - 1 ? send : 0) + (first > 0 ? send : 0);
  const paramElements = series.paramElements(first, last);
  const expertElements = series.expertParamElements(first, last);
  const denseElements = paramElements - expertElements;
  const replicas = config.dp * config.cp;
  const layers = last - first + 1;
  // A per-tensor ZeRO-3 runtime (DeepSpeed before v0.5.5) had no expert parallelism under ZeRO-3:
  // expert parameters stay a collective per layer.
  const perTensor = config.zero === 3 && config.zero3Collectives === 'per-tensor-list';
  const lists = perTensor ? { perRankLists: { gpu: cluster.gpu } } : {};
  const expertQuantized = series.expertQuantizedWeightElements(first, last);
  const dense = replicaTraffic(
    denseElements,
    series.quantizedWeightElements(first, last) - expertQuantized,
    perTensor ? { count: series.paramTensors(first, last), ...lists } : { count: layers },
    links.dataParallel,
    config,
  );
  const expert = replicaTraffic(
    expertElements,
    expertQuantized,
    { count: series.expertLayerCount(first, last) },
    links.expertDataParallel,
    config,
  );
  // Under full recomputation a runtime that releases far-reused modules after the recomputed forward
  // gathers them again for the backward (param-tensors.ts regatheredAfterRecompute): a forward
  // gather of those tensors (a collective a tensor, or a layer).
  const again =
    config.zero === 3 && config.zero3RegatherAfterRecompute
      ? series.regathered(first, last)
      : { tensors: 0, elements: 0, layers: 0 };
  const regatherSec =
    again.tensors === 0
      ? 0
      : replicaTraffic(
          again.elements,
          0,
          perTensor ? { count: again.tensors, ...lists } : { count: again.layers },
          links.dataParallel,
          config,
        ).forwardPerMicrobatchSec;
  // Waited where the runtime waits for its gathers; else prefetched, hidden as the backward's are.
  const gathersWaited = config.zero === 3 && (!config.zero3Prefetch || perTensor);
  const dp = {
    perStepSec: dense.perStepSec + expert.perStepSec,
    perStepGatherSec: dense.perStepGatherSec + expert.perStepGatherSec,
    forwardPerMicrobatchSec: dense.forwardPerMicrobatchSec + expert.forwardPerMicrobatchSec,
    backwardPerMicrobatchSec:
      dense.backwardPerMicrobatchSec + expert.backwardPerMicrobatchSec + (gathersWaited ? 0 : regatherSec),
  };
  // ZeRO shards over the peers that hold the same parameters: all replicas, or the experts' group.
  const owned =
    config.zero >= 1 ? denseElements / replicas + (expertElements * config.ep) / replicas : paramElements;
  const backwardSec = series.backwardComputeSec(first, last);
  const forwardSec = series.forwardComputeSec(first, last);
  // Per-microbatch traffic hides behind its own pass wherever the runtime overlaps the reduction;
  // ZeRO-3's gathers only where the runtime prefetches (a layer cannot run before its own gather).
  // A forward pass's traffic is ZeRO-3's gather alone; the backward gathers as much again. Per-tensor
  // gathers are all waited for: DeepSpeed synchronises the device before each (torch.cuda.synchronize
  // in _allgather_param) and after each module's fetch.
  const passesOverlap = config.gradientReduction !== 'after-backward';
  const waitedSec = gathersWaited ? dp.forwardPerMicrobatchSec : 0;
  const dpPerMicrobatchSec =
    2 * waitedSec +
    (gathersWaited ? regatherSec : 0) +
    exposedGradientSec(dp.forwardPerMicrobatchSec - waitedSec, forwardSec, layers, passesOverlap) +
    exposedGradientSec(dp.backwardPerMicrobatchSec - waitedSec, backwardSec, layers, passesOverlap);
  return {
    latencySec: layersSec + ppCommSec + dpPerMicrobatchSec,
    layersSec,
    hiddenByOverlapSec,
    ppCommSec,
    handOverSec: send,
    dpPerMicrobatchSec,
    // The reduction hides behind the last microbatch's backward, the gather behind the next step's first forward.
    dpPerStepSec:
      exposedGradientSec(
        dp.perStepSec + series.gradSyncSec(first, last),
        backwardSec,
        layers,
        config.gradientReduction === 'overlapped',
      ) + exposedGradientSec(dp.perStepGatherSec, forwardSec, layers, config.overlapParamGather),
    optimizerSec: optimizerStepSec(owned, cluster.gpu),
    paramElements,
    ...stageMemory(series, first, last, config),
  };
}

/**
 * `elements` in `units`, sent to the replicas on `axis` as the config's runtime sends them; of them
 * `quantizedElements` are quantized GEMMs' weights, which the config's parameter gathering sends in
 * their format.
 */
function replicaTraffic(
  elements: number,
  quantizedElements: number,
  units: CollectiveUnits,
  axis: MeshAxis,
  config: PipelineConfig,
): DataParallelTraffic {
  return dataParallelSec(
    elements,
    config.zero,
    axis,
    config.gradientReduction,
    config.gradientBucketElements,
    units,
    config.gradientReduceBytes,
    config.quantizedParamGather === null
      ? null
      : { elements: quantizedElements, elementBytes: config.quantizedParamGather.elementBytes },
  );
}

/**
 * What layers first..last hold as one stage: the memory half of its price, without its times.
 * `additiveOnly` leaves out what does not add up over layers (ZeRO-3's working set, set by the largest
 * layer), for a bound that sums single layers.
 */
export function stageMemory(
  series: LayerSeries,
  first: number,
  last: number,
  config: PipelineConfig,
  additiveOnly = false,
): StageMemory {
  const paramElements = series.paramElements(first, last);
  const expertElements = series.expertParamElements(first, last);
  return {
    params: stageParamMemory(
      paramElements - expertElements,
      expertElements,
      series.quantizedWeightElements(first, last),
      config.zero >= 3 && !additiveOnly ? series.largestLayerParamElements(first, last) : 0,
      config,
    ),
    activationBytesPerMicrobatch: series.activationBytes(first, last),
  };
}

/** Parameter state per device: dense and expert parameters sharded by ZeRO over their own groups. */
function stageParamMemory(
  dense: number,
  expert: number,
  quantizedWeights: number,
  largestLayer: number,
  config: PipelineConfig,
): ParamMemory {
  const replicas = config.dp * config.cp;
  const d = paramMemory(dense, config.zero, replicas, config.heldGradientBytes);
  const e = paramMemory(expert, config.zero, replicas / config.ep, config.heldGradientBytes);
  const gathered = zero3WorkingSet(largestLayer, config.zero3Prefetch);
  // Gathered in its format, a quantized GEMM's weight is its quantized copies alone: no bf16 weight beside.
  const bf16Dropped = config.quantizedParamGather === null ? 0 : quantizedWeights * WEIGHT_BYTES;
  return {
    parametersBytes:
      d.parametersBytes +
      e.parametersBytes +
      quantizedWeights * config.quantizedWeightCacheBytes -
      bf16Dropped +
      gathered.parametersBytes,
    gradientsBytes: d.gradientsBytes + e.gradientsBytes + gathered.gradientsBytes,
    optimizerBytes: d.optimizerBytes + e.optimizerBytes,
  };
}
