import type { Cluster } from '../cluster/cluster.ts';
import { precisionPeakTflops } from '../cost/kernel-rates.ts';
import { paramBytes } from '../cost/memory.ts';
import { inFlightMicrobatches } from '../cost/pipeline.ts';
import type { PipelineConfig } from '../cost/pipeline-config.ts';
import { priceStage, type StagePrice, stageLinks } from '../cost/stage.ts';
import { pipelineStep, stagePeakBytes, stepBreakdown, throughput } from '../cost/step.ts';
import { trainingCost } from '../cost/training-cost.ts';
import { coarsen } from '../graph/coarsen.ts';
import type { GraphOp } from '../graph/graph.ts';
import { DIM } from '../graph/letters.ts';
import { selectiveFlops } from '../graph/recompute.ts';
import type { Breakdown, Plan, PlanRequest, ScheduleKind, StageOut, Summary } from '../schema/index.ts';
import { recomputeModules } from './config-space.ts';
import { describeOps } from './describe.ts';
import type { Candidate } from './search.ts';

export interface Assembled {
  readonly summary: Summary;
  readonly breakdown: Breakdown;
  readonly stages: StageOut[];
  readonly schedule: NonNullable<Plan['schedule']>;
}

/** Which of the stage's mesh axes every op of `ops` splits along `letter`. */
function axesSplitting(
  stage: Candidate['stages'][number],
  index: number,
  ops: readonly GraphOp[],
  letter: string,
): [boolean, boolean] {
  const price = stage.series.prices[index]!;
  const splits = (j: 0 | 1) =>
    ops.length > 0 && ops.every((op) => price.ops[op.index]!.strategy.split[j] === letter);
  return [splits(0), splits(1)];
}

/** The product of the mesh axes flagged in `axes`. */
function waysOf(stage: Candidate['stages'][number], axes: readonly [boolean, boolean]): number {
  return (axes[0] ? stage.series.mesh.shape[0] : 1) * (axes[1] ? stage.series.mesh.shape[1] : 1);
}

/** Data-parallel axes inside a stage: mesh axes along which every matmul splits the batch dim. */
function batchAxes(candidate: Candidate, stage: Candidate['stages'][number]): [boolean, boolean] {
  // Judge by the model's most repeated layer (a transformer block), not the embedding or head.
  const count = new Map<string, number>();
  for (const l of candidate.model.layers) count.set(l.signature, (count.get(l.signature) ?? 0) + 1);
  let index = stage.last;
  for (let l = stage.first; l <= stage.last; l++) {
    if (
      count.get(candidate.model.layers[l]!.signature)! > count.get(candidate.model.layers[index]!.signature)!
    )
      index = l;
  }
  const matmuls = candidate.model.layers[index]!.graph.ops.filter(
    (op) => op.kind === 'matmul' && op.einsum.letters.includes(DIM.batch),
  );
  return axesSplitting(stage, index, matmuls, DIM.batch);
}

/**
 * Expert-parallel axes inside a stage: mesh axes along which every expert GEMM splits the experts
 * (the ILP's own expert parallelism, with the dispatch its layouts imply), judged on the first MoE
 * block of the pipeline. An axis may split the batch of the dense ops and the experts of the MoE
 * ones: expert parallelism carved from data parallelism, as Megatron carves ep from dp.
 */
function expertAxes(candidate: Candidate): {
  readonly stage: Candidate['stages'][number];
  readonly axes: [boolean, boolean];
} {
  for (const stage of candidate.stages) {
    for (let l = stage.first; l <= stage.last; l++) {
      const experts = candidate.model.layers[l]!.graph.ops.filter(
        (op) => op.kind === 'matmul' && op.einsum.inputs.some((letters) => letters.includes(DIM.experts)),
      );
      if (experts.length > 0) return { stage, axes: axesSplitting(stage, l, experts, DIM.experts) };
    }
  }
  return { stage: candidate.stages[0]!, axes: [false, false] };
}

/**
 * Megatron's interleaved 1F1B orders microbatches in groups of S: a pipeline of several stages
 * interleaves only when its microbatches come in whole groups.
 */
function canInterleave(candidate: Candidate): boolean {
  const S = candidate.stages.length;
  return S > 1 && candidate.config.microbatches % S === 0;
}

/** Interleaving pays when the bubble it shrinks outweighs the extra pipeline sends (SC'21 §2.2.2). */
function bestVirtualStages(
  candidate: Candidate,
  prices: readonly StagePrice[],
  capacityBytes: number,
  allows: (virtualStages: number) => boolean,
): number {
  const S = prices.length;
  const pinned = candidate.config.virtualStages;
  const B = candidate.config.microbatches;
  if (S <= 1 || candidate.config.schedule === 'gpipe') return 1;
  // Chunks hold blocks; the embedding and head ride along with the first and last chunk.
  const edges = (s: { first: number; last: number }) =>
    (s.first === 0 ? 1 : 0) + (s.last === candidate.model.layers.length - 1 ? 1 : 0);
  const layersPerStage = candidate.stages.map((s) => s.last - s.first + 1 - edges(s));
  let best = { v: 1, sec: Number.POSITIVE_INFINITY };
  const interleavable = canInterleave(candidate);
  for (let v = 1; v <= 8; v++) {
    if (layersPerStage.some((n) => n % v !== 0) || (pinned > 1 && v !== pinned)) continue;
    if (v > 1 && (!interleavable || !allows(v))) continue;
    const sec = pipelineStep(prices, B, v).stepSec;
    const peaks = stagePeakBytes(prices, v > 1 ? 'interleaved' : '1f1b', B, v);
    if (peaks.every((bytes) => bytes <= capacityBytes) && sec < best.sec) best = { v, sec };
  }
  return best.v;
}

/** Each stage of the candidate priced on its sub-mesh. */
export function candidatePrices(cluster: Cluster, candidate: Candidate): StagePrice[] {
  const { model, config } = candidate;
  return candidate.stages.map((s) =>
    priceStage(
      s.series,
      s.first,
      s.last,
      model.layers.length,
      model.streamBytes,
      stageLinks(cluster, s.stageDevices, config),
      config,
      cluster,
    ),
  );
}

/**
 * The step time a candidate runs at once its schedule is chosen: the stage DP prices 1F1B, and
 * interleaving (where the framework allows it) can shrink the bubble further.
 */
export function scheduledStepSec(
  cluster: Cluster,
  candidate: Candidate,
  capacityBytes: number,
  allows: (virtualStages: number) => boolean,
): number {
  // A candidate that cannot interleave runs at the stage DP's 1F1B price: no need to price it again.
  if (!canInterleave(candidate)) return candidate.stepSec;
  const prices = candidatePrices(cluster, candidate);
  const v =
    candidate.config.virtualStages <= 1
      ? bestVirtualStages(candidate, prices, capacityBytes, allows)
      : candidate.config.virtualStages;
  return pipelineStep(prices, candidate.config.microbatches, v).stepSec;
}

/** The schedule a pipeline runs with `virtualStages` model chunks per stage. */
export function scheduleKind(config: PipelineConfig, virtualStages: number): ScheduleKind {
  return config.schedule === 'gpipe' ? 'gpipe' : virtualStages > 1 ? 'interleaved' : '1f1b';
}

/**
 * The plan of a candidate. With `interleaving`, the planner picks the virtual stage count among
 * those the candidate's framework allows; without, an estimate keeps the given one.
 */
export function assemble(
  request: PlanRequest,
  cluster: Cluster,
  candidate: Candidate,
  capacityBytes: number,
  interleaving: ((virtualStages: number) => boolean) | null,
): Assembled {
  const { model, config } = candidate;
  const prices = candidatePrices(cluster, candidate);
  const v =
    interleaving !== null && config.virtualStages <= 1
      ? bestVirtualStages(candidate, prices, capacityBytes, interleaving)
      : config.virtualStages;
  const schedule = scheduleKind(config, v);
  const B = config.microbatches;
  const step = pipelineStep(prices, B, v);
  const slowest = candidate.stages[step.bottleneck]!;
  const breakdown = stepBreakdown(
    step,
    prices,
    slowest.series.prices.slice(slowest.first, slowest.last + 1),
    B,
    v,
  );

  const S = prices.length;
  const stages: StageOut[] = candidate.stages.map((stage, i) => {
    const p = prices[i]!;
    const inFlight = inFlightMicrobatches(schedule, i, S, B, v);
    const activations = inFlight * p.activationBytesPerMicrobatch;
    const total = paramBytes(p.params) + activations;
    // Bytes of state each parameter keeps on this stage, ZeRO's sharding included.
    const bytesPerParam = paramBytes(p.params) / Math.max(1, p.paramElements);
    const layerPlans = new Map<
      string,
      { layer: string; count: number; ops: StageOut['layerPlans'][number]['ops'] }
    >();
    for (let l = stage.first; l <= stage.last; l++) {
      const layer = model.layers[l]!;
      const known = layerPlans.get(layer.signature);
      if (known !== undefined) {
        known.count++;
        continue;
      }
      layerPlans.set(layer.signature, {
        layer: layer.name,
        count: 1,
        ops: describeOps(layer.graph, stage.series.prices[l]!, coarsen(layer.graph), bytesPerParam),
      });
    }
    return {
      layers: [stage.first, stage.last],
      layerNames: [model.layers[stage.first]!.name, model.layers[stage.last]!.name],
      subMesh: { nodes: 1, devicesPerNode: stage.stageDevices },
      logicalMesh: [stage.series.mesh.shape[0], stage.series.mesh.shape[1]],
      latencySec: step.latencySec[i]!,
      memoryBytes: total,
      memory: {
        parametersBytes: p.params.parametersBytes,
        gradientsBytes: p.params.gradientsBytes,
        optimizerBytes: p.params.optimizerBytes,
        activationsBytes: activations,
        totalBytes: total,
        capacityBytes: cluster.gpu.memoryBytes,
      },
      inFlightMicrobatches: inFlight,
      layerPlans: [...layerPlans.values()],
    };
  });

  const ways = waysOf(candidate.stages[0]!, batchAxes(candidate, candidate.stages[0]!));
  const moe = expertAxes(candidate);
  const inMeshExperts = waysOf(moe.stage, moe.axes);
  // What of the MoE stage's mesh neither replicates the dense ops nor spreads the experts splits each expert.
  const moeBatch = batchAxes(candidate, moe.stage);
  const expertTensorWays =
    moe.stage.stageDevices / waysOf(moe.stage, [moeBatch[0] || moe.axes[0], moeBatch[1] || moe.axes[1]]);
  const stageDevices = candidate.stages[0]!.stageDevices;
  const recomputedFlops =
    config.recompute === 'full'
      ? model.fullRecomputeFlops
      : config.recompute === 'per-op'
        ? model.perOpRecomputeFlops
        : config.recompute === 'selective'
          ? selectiveFlops(model.recomputableFlops, recomputeModules(request))
          : 0;
  // Tokens of every microbatch of every replica (a graph's come from its sequence dim, 0 without one).
  const tokensPerSec = (B * config.dp * model.tokensPerMicrobatch) / step.stepSec;
  const peak = precisionPeakTflops(cluster.gpu.peakTflops, request.training.precision) * 1e12;
  const summary: Summary = {
    dp: config.dp * ways,
    tp: stageDevices / ways,
    pp: S,
    cp: config.cp,
    // Experts split over dp·cp peers (config.ep) and, by the ILP's layouts, over the stage's own mesh.
    ep: config.ep * inMeshExperts,
    etp: expertTensorWays,
    gpus: cluster.devices,
    microBatch: config.microBatch,
    microbatches: B,
    virtualStages: v,
    recompute: config.recompute,
    ...(config.recompute === 'selective' && request.parallel?.recomputeModules !== undefined
      ? { recomputeModules: request.parallel.recomputeModules }
      : {}),
    zero: config.zero,
    ...(config.zero === 3
      ? { zero3Prefetch: config.zero3Prefetch, zero3Collectives: config.zero3Collectives }
      : {}),
    sequenceParallel: stages.some((s) =>
      s.layerPlans.some((lp) =>
        lp.ops.some(
          (o) => o.kind === 'norm' && (o.strategy.axis0 === DIM.seq || o.strategy.axis1 === DIM.seq),
        ),
      ),
    ),
    schedule,
    stepTimeSec: step.stepSec,
    tokensPerSec,
    ...throughput({
      forwardFlopsPerMicrobatch: model.forwardFlops,
      recomputedFlopsPerMicrobatch: recomputedFlops,
      microbatchesPerStep: B * config.dp,
      stepSec: step.stepSec,
      devices: cluster.devices,
      peakFlopsPerDevice: peak,
    }),
    peakMemoryBytes: Math.max(...stages.map((s) => s.memoryBytes)),
    ...trainingCost({
      tokensPerSec,
      stepTimeSec: step.stepSec,
      gpus: cluster.devices,
      tokens: request.training.tokens,
      pricePerGpuHour: request.cluster.pricePerGpuHour,
    }),
  };
  return { summary, breakdown, stages, schedule: { kind: schedule, microbatches: B, virtualStages: v } };
}
