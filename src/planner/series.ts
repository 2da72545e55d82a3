/**
 * The priced layers a configuration's stages choose from: every layer laid out on each sub-mesh the
 * replica offers, by each layout choice, and a lower bound on any cut of them.
 */
import type { Cluster } from '../cluster/cluster.ts';
import { logicalMesh } from '../cluster/mesh.ts';
import { type OuterDegrees, stageLinks } from '../cost/stage.ts';
import type { PlannedModel } from '../model/planned.ts';
import type { PlanRequest, Recompute } from '../schema/index.ts';
import { logicalShapes, type ReplicaShape } from './config-space.ts';
import type { TaggedEntry } from './goals.ts';
import { type LayerSolver, type LayoutChoice, megatronVariant } from './layer-solver.ts';
import type { SeriesEntry } from './replica-solve.ts';

export interface SeriesContext {
  readonly request: PlanRequest;
  readonly cluster: Cluster;
  readonly solver: LayerSolver;
  readonly deadlineMs: number;
}

/** Every stage layout offered on the replica's sub-meshes; null when the deadline passed first. */
export async function seriesFor(
  ctx: SeriesContext,
  model: PlannedModel,
  replica: ReplicaShape,
  degrees: OuterDegrees,
  recompute: Recompute,
  choices: readonly LayoutChoice[],
): Promise<TaggedEntry[] | null> {
  const out: TaggedEntry[] = [];
  for (const m of replica.stageDevices) {
    // The context- and expert-parallel groups around a stage of m devices (their exchanges' links).
    const outer = stageLinks(ctx.cluster, m, degrees).outer;
    for (const shape of logicalShapes(m, ctx.request.parallel?.tp)) {
      const mesh = logicalMesh(ctx.cluster, shape);
      for (const choice of choices) {
        // Each mesh may need fresh ILP solves; past the deadline the configuration is given up.
        if (Date.now() > ctx.deadlineMs) return null;
        if (!megatronOffered(ctx.request, megatronVariant(choice), shape)) continue;
        const series = await ctx.solver.series(model.layers, mesh, choice, recompute, outer);
        if (series !== null) out.push({ series, stageDevices: m, choice });
      }
    }
  }
  return out;
}

/**
 * A lower bound on any cut's step time, Σ t_i + (B − 1)·max t_i (DESIGN.md §6): the stage latencies
 * sum to at least every layer at its fastest on any offered mesh, and the slowest stage takes at
 * least the fastest whole-model latency spread over the most stages the replica can have.
 */
export function lowerBoundSec(
  request: PlanRequest,
  model: PlannedModel,
  replica: ReplicaShape,
  microbatches: number,
  entries: readonly SeriesEntry[],
): number {
  if (entries.length === 0) return Number.POSITIVE_INFINITY;
  const L = model.layers.length;
  // No framework's runtime overlaps more than the request asks for.
  const overlaps = {
    overlapTensorParallelComm: request.parallel?.overlapTensorParallelComm ?? false,
    overlapInputGradientReduce: request.parallel?.overlapInputGradientReduce ?? true,
    overlapExpertParallelComm: request.parallel?.overlapExpertParallelComm ?? false,
  };
  const latency = (e: SeriesEntry, first: number, last: number) =>
    e.series.latencySec(first, last) - e.series.hiddenByOverlapSec(first, last, overlaps);
  let slowestStage = Number.POSITIVE_INFINITY;
  for (const e of entries) {
    const stages = Math.min(L, replica.replicaDevices / e.stageDevices);
    slowestStage = Math.min(slowestStage, latency(e, 0, L - 1) / stages);
  }
  let sum = 0;
  for (let l = 0; l < L; l++) sum += Math.min(...entries.map((e) => latency(e, l, l)));
  // 1F1B: one microbatch crosses every stage, the others follow at the slowest stage's pace. An
  // interleaved schedule overlaps that crossing too, so only each device's own work, B·T, and one
  // microbatch's crossing remain as bounds.
  const p = request.parallel;
  const interleavable = p?.schedule !== 'gpipe' && p?.virtualStages !== 1;
  return interleavable ? Math.max(sum, microbatches * slowestStage) : sum + (microbatches - 1) * slowestStage;
}

/**
 * Whether a Megatron layout variant is worth a series on a mesh of this shape (the ILP's choices
 * always are): Megatron's layouts live on [1, tp] meshes; sequence parallelism needs tp > 1 and
 * follows a pinned `sequenceParallel`; an MoE's experts may fold over the tp ranks (expert TP 1,
 * MoE parallel folding) or split with them (expert TP = tp), both offered unless `etp` pins one (or
 * a pinned `ep` alone keeps expert TP at tp).
 */
function megatronOffered(
  request: PlanRequest,
  variant: ReturnType<typeof megatronVariant>,
  shape: readonly [number, number],
): boolean {
  if (variant === null) return true;
  if (shape[0] !== 1) return false;
  if (variant.sequenceParallel && shape[1] === 1) return false;
  const sp = request.parallel?.sequenceParallel;
  if (sp !== undefined && sp !== variant.sequenceParallel) return false;
  const etp = request.parallel?.etp;
  if (!variant.expertsOverTp) return etp !== 1 || shape[1] === 1;
  const moe = request.model.kind === 'transformer' && request.model.moe !== undefined;
  // A pinned ep without a pinned etp is carved from dp·cp whole: folding would multiply it by tp.
  const folds = etp === 1 || (etp === undefined && request.parallel?.ep === undefined);
  return moe && shape[1] > 1 && folds;
}
