import type { Cluster } from '../cluster/cluster.ts';
import { sendRecvSec } from '../cluster/collectives.ts';
import type { LogicalMesh, MeshAxis } from '../cluster/mesh.ts';
import type { LayoutEval } from '../cost/layout-eval.ts';
import type { Recompute, ScheduleKind } from '../schema/index.ts';
import type { LayerSolver, LayoutChoice, PlannedLayer } from './layer-solver.ts';
import {
  dataParallelSec,
  optimizerStepSec,
  type ParamMemory,
  paramMemory,
  type ZeroStage,
} from './pipeline.ts';

/** The knobs of one pipeline replica that the outer search fixes. */
export interface PipelineConfig {
  readonly dp: number;
  readonly microBatch: number;
  readonly microbatches: number;
  readonly recompute: Recompute;
  readonly zero: ZeroStage;
  readonly schedule: ScheduleKind;
  readonly virtualStages: number;
  readonly overlapGradReduce: boolean;
  readonly overlapTensorParallelComm: boolean;
}

/** Per-layer prices of one (mesh, layout choice, recompute) over the whole model, summed by prefix. */
export class LayerSeries {
  private constructor(
    readonly mesh: LogicalMesh,
    readonly choice: LayoutChoice,
    readonly prices: readonly LayoutEval[],
    private readonly latency: Float64Array,
    private readonly params: Float64Array,
    private readonly activations: Float64Array,
    private readonly gradSync: Float64Array,
    private readonly backward: Float64Array,
    private readonly hideable: Float64Array,
  ) {}

  static async build(
    solver: LayerSolver,
    tpOverlap: number,
    layers: readonly PlannedLayer[],
    mesh: LogicalMesh,
    choice: LayoutChoice,
    recompute: Recompute,
  ): Promise<LayerSeries | null> {
    const prices: LayoutEval[] = [];
    for (const layer of layers) {
      const price = await solver.price(layer, mesh, choice, recompute);
      if (price === null) return null;
      prices.push(price);
    }
    const prefix = (f: (p: LayoutEval) => number) => {
      const out = new Float64Array(prices.length + 1);
      prices.forEach((p, i) => {
        out[i + 1] = out[i]! + f(p);
      });
      return out;
    };
    return new LayerSeries(
      mesh,
      choice,
      prices,
      prefix((p) => p.totalSec),
      prefix((p) => p.paramElements),
      prefix((p) => p.activationBytes),
      prefix((p) => p.gradSyncSec),
      prefix((p) => p.backwardComputeSec),
      // What tensor-parallel overlap can hide: a share of the collectives, never more than the compute.
      prefix((p) =>
        Math.min(tpOverlap * (p.commSec + p.reshardSec), p.forwardComputeSec + p.backwardComputeSec),
      ),
    );
  }

  latencySec(first: number, last: number): number {
    return this.latency[last + 1]! - this.latency[first]!;
  }
  paramElements(first: number, last: number): number {
    return this.params[last + 1]! - this.params[first]!;
  }
  activationBytes(first: number, last: number): number {
    return this.activations[last + 1]! - this.activations[first]!;
  }
  gradSyncSec(first: number, last: number): number {
    return this.gradSync[last + 1]! - this.gradSync[first]!;
  }
  hiddenByOverlapSec(first: number, last: number): number {
    return this.hideable[last + 1]! - this.hideable[first]!;
  }
  backwardComputeSec(first: number, last: number): number {
    return this.backward[last + 1]! - this.backward[first]!;
  }
}

/** Links a stage talks over outside its own mesh: to its data-parallel peers and to its pipeline neighbours. */
export interface StageLinks {
  readonly dataParallel: MeshAxis;
  readonly pipelineAlphaSec: number;
  readonly pipelineBetaSecPerByte: number;
}

/*
 * Placement (as Megatron-LM orders ranks): a stage's mesh innermost, its data-parallel peers next,
 * pipeline neighbours outermost. Data-parallel peers share a node while stageDevices·dp fits in
 * one; pipeline neighbours are on another node once a replica fills one.
 */
export function stageLinks(cluster: Cluster, stageDevices: number, dp: number): StageLinks {
  const dpInNode = stageDevices * dp <= cluster.gpusPerNode;
  const dpLink = dpInNode ? cluster.intraNode : cluster.interNode;
  const ppLink = stageDevices * dp >= cluster.gpusPerNode ? cluster.interNode : cluster.intraNode;
  return {
    dataParallel: {
      size: dp,
      alphaSec: dpLink.latencySec,
      betaSecPerByte: 1 / dpLink.bytesPerSec,
      spansNodes: !dpInNode,
    },
    pipelineAlphaSec: ppLink.latencySec,
    pipelineBetaSecPerByte: 1 / ppLink.bytesPerSec,
  };
}

export interface StagePrice {
  /** Forward + backward of one microbatch: layers, pipeline sends, per-microbatch ZeRO traffic. */
  readonly latencySec: number;
  readonly layersSec: number;
  readonly ppCommSec: number;
  readonly dpPerMicrobatchSec: number;
  /**
   * Paid once per step: gradient traffic across replicas plus the all-reduce of gradients the
   * stage's own layout leaves partial (a batch split inside the stage).
   */
  readonly dpPerStepSec: number;
  readonly optimizerSec: number;
  readonly paramElements: number;
  readonly params: ParamMemory;
  readonly activationBytesPerMicrobatch: number;
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
  const layersSec =
    series.latencySec(first, last) -
    (config.overlapTensorParallelComm ? series.hiddenByOverlapSec(first, last) : 0);
  const sendBytes = streamBytes / series.mesh.devices;
  const send = sendRecvSec(links.pipelineAlphaSec, links.pipelineBetaSecPerByte, sendBytes);
  const ppCommSec = (last < layerCount - 1 ? send : 0) + (first > 0 ? send : 0);
  const paramElements = series.paramElements(first, last);
  const dp = dataParallelSec(paramElements, config.zero, links.dataParallel);
  const owned = config.zero >= 1 ? paramElements / config.dp : paramElements;
  return {
    latencySec: layersSec + ppCommSec + dp.perMicrobatchSec,
    layersSec,
    ppCommSec,
    dpPerMicrobatchSec: dp.perMicrobatchSec,
    dpPerStepSec: exposedGradientSec(
      dp.perStepSec + series.gradSyncSec(first, last),
      series.backwardComputeSec(first, last),
      last - first + 1,
      config.overlapGradReduce,
    ),
    optimizerSec: optimizerStepSec(owned, cluster.gpu),
    paramElements,
    params: paramMemory(paramElements, config.zero, config.dp),
    activationBytesPerMicrobatch: series.activationBytes(first, last),
  };
}

/**
 * The overlap term of DESIGN.md §4: with bucketed reduction, a layer's gradients travel while the
 * layers before it run their last backward pass, so only what exceeds that window — and at least
 * the last layer's share — stays exposed.
 */
export function exposedGradientSec(
  syncSec: number,
  backwardWindowSec: number,
  layers: number,
  overlap: boolean,
): number {
  if (!overlap) return syncSec;
  return Math.max(syncSec / Math.max(1, layers), syncSec - backwardWindowSec);
}

export function paramBytes(p: ParamMemory): number {
  return p.parametersBytes + p.gradientsBytes + p.optimizerBytes;
}

/**
 * Alpa's memory check as the stage DP takes it: how many stages may follow this one (1F1B keeps one
 * more microbatch in flight per later stage, up to all B) before it overflows; GPipe keeps all B.
 */
export function maxStagesAfter(price: StagePrice, capacityBytes: number, config: PipelineConfig): number {
  const fixed = paramBytes(price.params);
  const act = price.activationBytesPerMicrobatch;
  if (fixed + config.microbatches * act <= capacityBytes) return Number.POSITIVE_INFINITY;
  if (config.schedule === 'gpipe' || act <= 0) return -1;
  const inFlight = Math.floor((capacityBytes - fixed) / act);
  return inFlight >= 1 ? inFlight - 1 : -1;
}
