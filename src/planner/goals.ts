/**
 * What one search looks for at once (DESIGN.md §9): the best plan (`any`), and with it the best
 * plan each framework can run — found over the same priced layers, each restricted to the layouts
 * and configurations its framework runs and priced with its runtime.
 */
import type { PipelineConfig } from '../cost/pipeline-config.ts';
import { paramGatherAsked } from '../cost/quantized-gemm.ts';
import { FRAMEWORKS, type Framework, type RunShape, requestedOverlaps } from '../frameworks/index.ts';
import { blocksInRange } from '../frameworks/pipeline-split.ts';
import { cpCommTypeOf, type TransformerDims } from '../model/dims.ts';
import type { FrameworkName, FrameworkTarget, PlanRequest, Recompute } from '../schema/index.ts';
import { type ReplicaShape, recomputeModules } from './config-space.ts';
import { megatronVariant } from './layer-solver.ts';
import type { Candidate, SeriesEntry } from './replica-solve.ts';

export interface Goal {
  readonly name: 'any' | FrameworkName;
  /** Null for `any`: every layout, the request's own overlaps. */
  readonly framework: Framework | null;
}

/*
 * JAX runs every plan meshplan makes and prices like `any`: its best is the overall best, so it
 * needs no search of its own.
 */
const SEARCHED_FRAMEWORKS: readonly FrameworkName[] = ['megatron', 'torchtitan', 'deepspeed'];

/** A goal whose plans use Megatron's layouts only (a framework that runs Megatron-style tensor parallelism). */
export function megatronLayoutsOnly(goal: Goal): boolean {
  return goal.framework !== null && !goal.framework.anyLayout;
}

/**
 * Whether a goal's search escalates through a recomputation mode. Per-op recomputation is torchtitan's
 * own policy: only its goal tries it, unless the request pins it (every framework's rules then judge).
 */
export function goalRecomputes(goal: Goal, recompute: Recompute, pinned: boolean): boolean {
  return recompute !== 'per-op' || pinned || goal.name === 'torchtitan';
}

export function goalsFor(target: FrameworkTarget): Goal[] {
  if (target !== 'any') return [{ name: target, framework: FRAMEWORKS[target] }];
  return [
    { name: 'any', framework: null },
    ...SEARCHED_FRAMEWORKS.map((name) => ({ name, framework: FRAMEWORKS[name] })),
  ];
}

/** Layer series with how they were laid out, as the search builds them. */
export type TaggedEntry = SeriesEntry;

/**
 * A family of stage options one DP may mix: for `any`, everything offered; for a framework, one
 * tensor-parallel degree and one sequence-parallel choice on every stage (Megatron-style runs give
 * every stage the same tp and SP), laid out as Megatron lays them out.
 */
export interface EntryFamily {
  readonly entries: readonly SeriesEntry[];
  /**
   * Tensor-parallel degree and sequence parallelism of a framework family, and whether its experts
   * fold over the tp ranks (expert TP 1; estimate's Megatron layouts only); null for `any`.
   */
  readonly tensorParallel: {
    readonly tp: number;
    readonly sequenceParallel: boolean;
    readonly expertsOverTp?: boolean;
  } | null;
}

export function entryFamilies(goal: Goal, entries: readonly TaggedEntry[]): EntryFamily[] {
  if (!megatronLayoutsOnly(goal)) return [{ entries, tensorParallel: null }];
  const families = new Map<
    string,
    { entries: SeriesEntry[]; tp: number; sequenceParallel: boolean; expertsOverTp: boolean }
  >();
  for (const e of entries) {
    // Megatron's layouts live on [1, tp] meshes (mesh axis 1 is tensor parallelism).
    const variant = megatronVariant(e.choice);
    if (variant === null || e.series.mesh.shape[0] !== 1) continue;
    const tp = e.series.mesh.shape[1];
    const sequenceParallel = variant.sequenceParallel && tp > 1;
    const expertsOverTp = variant.expertsOverTp && tp > 1;
    const key = `${tp}|${sequenceParallel}|${expertsOverTp}`;
    const family = families.get(key) ?? { entries: [], tp, sequenceParallel, expertsOverTp };
    family.entries.push(e);
    families.set(key, family);
  }
  return [...families.values()].map((f) => ({
    entries: f.entries,
    tensorParallel: { tp: f.tp, sequenceParallel: f.sequenceParallel, expertsOverTp: f.expertsOverTp },
  }));
}

/** What the shape needs beyond a family and a configuration. */
export interface ShapeContext {
  readonly request: PlanRequest;
  readonly dims: TransformerDims | null;
  readonly devices: number;
}

/** The framework-neutral facts of a framework family's configuration, before or after its cut. */
export function familyShape(
  ctx: ShapeContext,
  family: NonNullable<EntryFamily['tensorParallel']>,
  replica: ReplicaShape,
  config: PipelineConfig,
  blocksPerStage: readonly number[] | null,
): RunShape {
  const pp = replica.replicaDevices / family.tp;
  return {
    model: ctx.dims,
    precision: ctx.request.training.precision,
    devices: ctx.devices,
    tp: family.tp,
    pp,
    dp: config.dp,
    cp: config.cp,
    cpCommType: cpCommTypeOf(ctx.request),
    // config.ep is carved from dp·cp; experts folded over the tp ranks multiply it by tp.
    ep: config.ep * (family.expertsOverTp ? family.tp : 1),
    // The search splits experts over the stage's tensor-parallel ranks like every other GEMM.
    etp: family.expertsOverTp ? 1 : family.tp,
    sequenceParallel: family.sequenceParallel,
    zero: config.zero,
    // What the request asks: the rules refuse the configurations it cannot be priced for.
    quantizedParamGather: paramGatherAsked(ctx.request.training.precision, ctx.request.parallel),
    zero3Prefetch: config.zero3Prefetch,
    recompute: config.recompute,
    recomputeModules: recomputeModules(ctx.request),
    schedule: config.schedule,
    virtualStages: config.virtualStages,
    microbatches: config.microbatches,
    rankMicroBatch: config.microBatch,
    globalBatch: ctx.request.training.globalBatch,
    blocksPerStage,
    layouts: { kind: 'megatron' },
  };
}

/**
 * The shape of a plan with any layouts (a framework that runs them all), before its cut: enough for
 * its runtime, which does not depend on how ops are split.
 */
export function anyLayoutShape(ctx: ShapeContext, replica: ReplicaShape, config: PipelineConfig): RunShape {
  const stage = replica.stageDevices[0]!;
  return {
    ...familyShape(ctx, { tp: stage, sequenceParallel: false }, replica, config, null),
    layouts: { kind: 'other', reason: 'layouts chosen per op by the ILP' },
  };
}

/** The configuration priced with a framework's runtime. */
export function withRuntime(
  framework: Framework,
  shape: RunShape,
  config: PipelineConfig,
  request: PlanRequest,
): PipelineConfig {
  const runtime = framework.runtime(shape, requestedOverlaps(request.parallel));
  return {
    ...config,
    gradientReduction: runtime.gradientReduction,
    overlapParamGather: runtime.paramGatherOverlap,
    gradientBucketElements: runtime.gradientBucketElements,
    overlapTensorParallelComm: runtime.tensorParallelOverlap,
    overlapInputGradientReduce: runtime.inputGradientOverlap,
    overlapExpertParallelComm: runtime.expertParallelOverlap,
    gradientReduceBytes: runtime.gradientReduceBytes,
    heldGradientBytes: runtime.heldGradientBytes,
    quantizedWeightCacheBytes: runtime.quantizedWeightCacheBytes,
    zero3Collectives: runtime.zero3Collectives,
    zero3RegatherAfterRecompute: runtime.zero3RegatherAfterRecompute,
  };
}

/** Transformer blocks per stage of a cut; null for a general graph, which has no blocks. */
export function blocksOfCut(
  stages: readonly { readonly first: number; readonly last: number }[],
  layerCount: number,
  dims: TransformerDims | null,
): number[] | null {
  return dims === null ? null : stages.map((s) => blocksInRange(s.first, s.last, layerCount));
}

/** The shape of a framework's candidate with `virtualStages` model chunks per stage. */
export function candidateShape(ctx: ShapeContext, candidate: Candidate, virtualStages: number): RunShape {
  const stage = candidate.stages[0]!;
  const tp = stage.stageDevices;
  const config = {
    ...candidate.config,
    virtualStages,
    schedule: virtualStages > 1 ? ('interleaved' as const) : candidate.config.schedule,
  };
  const blocks = blocksOfCut(candidate.stages, candidate.model.layers.length, ctx.dims);
  const variant = megatronVariant(stage.choice);
  return familyShape(
    ctx,
    {
      tp,
      sequenceParallel: (variant?.sequenceParallel ?? false) && tp > 1,
      expertsOverTp: (variant?.expertsOverTp ?? false) && tp > 1,
    },
    candidate.replica,
    config,
    blocks,
  );
}
