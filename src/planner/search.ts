import type { Cluster } from '../cluster/cluster.ts';
import { logicalMesh } from '../cluster/mesh.ts';
import { type PipelineConfig, pipelineConfig } from '../cost/pipeline-config.ts';
import { resolveDims, type TransformerDims } from '../model/dims.ts';
import { type PlannedModel, planModel } from '../model/planned.ts';
import type { FrameworkName, PlanRequest, Recompute } from '../schema/index.ts';
import {
  logicalShapes,
  microBatchSizes,
  type ReplicaShape,
  recomputeOrder,
  replicaShapes,
  zeroOrder,
} from './config-space.ts';
import { solveForGoal } from './goal-solve.ts';
import { entryFamilies, type Goal, goalsFor, megatronLayoutsOnly, type TaggedEntry } from './goals.ts';
import type { LayerSolver, LayoutChoice } from './layer-solver.ts';
import type { Candidate, SeriesEntry } from './replica-solve.ts';

export type { Candidate, PlannedStage } from './replica-solve.ts';

/**
 * Layout choices offered to the stage DP for every layer range and mesh: the ILP's fastest layout
 * and Megatron-LM's (so a plan is never worse than the framework default), then, only when memory
 * demands it, the ILP under tighter budgets.
 */
const CHOICE_SETS: readonly (readonly LayoutChoice[])[] = [
  ['fast', 'megatron', 'megatron-sp'],
  ['fast', 'megatron', 'megatron-sp', 'lean'],
];

export interface SearchProgress {
  readonly phase: string;
  readonly fraction: number;
}

export interface SearchOutcome {
  /** The best plan for the request's target. */
  readonly best: Candidate | null;
  /** With target `any`: the best plan each searched framework can run, where it found one. */
  readonly frameworks: Partial<Record<FrameworkName, Candidate>>;
  /** Frameworks that cannot build the model at all, with why (they were not searched). */
  readonly unbuildable: Partial<Record<FrameworkName, string>>;
  /** Smallest memory shortfall seen when nothing fits (bytes per device). */
  readonly shortfallBytes: number | null;
  readonly configurationsTried: number;
  readonly dpStates: number;
  readonly timedOut: boolean;
}

export interface SearchContext {
  readonly request: PlanRequest;
  readonly cluster: Cluster;
  readonly solver: LayerSolver;
  readonly capacityBytes: number;
  readonly deadlineMs: number;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: SearchProgress) => void;
  /** Every candidate the stage DP completes, best or not (a plan's alternatives are drawn from them). */
  readonly onCandidate?: (candidate: Candidate) => void;
  /** Each new best candidate, with the search's counters at that moment. */
  readonly onImprovement?: (
    best: Candidate,
    counts: { readonly dpStates: number; readonly configurationsTried: number },
  ) => void;
}

/**
 * The outer loops of DESIGN.md §6 around Alpa's stage DP: microbatch size, data-parallel degree
 * (one replica planned on devices / dp), then recomputation and ZeRO escalated only as far as
 * memory demands. Every stage option is a sum of memoised per-layer ILP optima. Each goal (the best
 * plan, and with target `any` the best of each framework) escalates on its own over the same
 * priced layers, and is pruned by its own best so far.
 */
export async function searchPlans(ctx: SearchContext): Promise<SearchOutcome> {
  const { request, cluster } = ctx;
  const spec = request.model;
  const layerCountGuess = spec.kind === 'transformer' ? spec.layers + 2 : Number.POSITIVE_INFINITY;
  const replicas = replicaShapes(cluster, request, layerCountGuess);
  const work = replicas.flatMap((r) => microBatchSizes(request, r.dp).map((mb) => ({ replica: r, mb })));
  const unbuildable: Partial<Record<FrameworkName, string>> = {};
  const modelDims =
    spec.kind === 'transformer'
      ? resolveDims(spec, { microBatch: 1, precision: request.training.precision })
      : null;
  // A framework that cannot build the model is not searched; the target always is (and finds nothing).
  const goals = goalsFor(request.options.target).filter((goal, i) => {
    const verdict = goal.framework?.builds(modelDims) ?? { ok: true };
    if (!verdict.ok) unbuildable[goal.framework!.name] = verdict.reason;
    return verdict.ok || i === 0;
  });
  const target = goals[0]!;
  const bests = new Map<Goal, Candidate>();
  const models = new Map<number, { model: PlannedModel; dims: TransformerDims | null }>();
  let shortfall: number | null = null;
  let tried = 0;
  let dpStates = 0;
  let timedOut = false;
  const offer = (goal: Goal, candidate: Candidate) => {
    const known = bests.get(goal);
    if (known !== undefined && known.stepSec <= candidate.stepSec) return;
    bests.set(goal, candidate);
    // A framework's plan is a plan: the overall best is never slower than any framework's.
    if (goal !== target && target.framework === null) offer(target, candidate);
    if (goal === target) ctx.onImprovement?.(candidate, { dpStates, configurationsTried: tried });
  };
  search: for (const [index, { replica, mb }] of work.entries()) {
    ctx.signal?.throwIfAborted();
    if (Date.now() > ctx.deadlineMs) {
      timedOut = true;
      break;
    }
    ctx.onProgress?.({ phase: `dp=${replica.dp} microBatch=${mb}`, fraction: index / work.length });
    let built = models.get(mb);
    if (built === undefined) {
      built = {
        model: planModel(spec, { microBatch: mb, precision: request.training.precision }),
        dims:
          spec.kind === 'transformer'
            ? resolveDims(spec, { microBatch: mb, precision: request.training.precision })
            : null,
      };
      models.set(mb, built);
    }
    const { model, dims } = built;
    const microbatches = request.training.globalBatch / (replica.dp * mb);
    // Goals still escalating (recomputation, leaner layouts, ZeRO) at this replica and microbatch.
    const pending = new Set(goals);
    escalation: for (const recompute of recomputeOrder(request)) {
      for (const [tier, choices] of CHOICE_SETS.entries()) {
        // Leaner layouts are the ILP's own: Megatron-layout goals have nothing new in later tiers,
        // and tensor-parallel groups inside a node are theirs alone.
        const active = [...pending].filter((g) =>
          megatronLayoutsOnly(g) ? tier === 0 : !replica.tensorParallelGroups,
        );
        if (active.length === 0) continue;
        const offered = active.every(megatronLayoutsOnly)
          ? choices.filter((c) => c.startsWith('megatron'))
          : choices;
        const entries = await seriesFor(ctx, model, replica, recompute, offered);
        if (entries === null) {
          timedOut = true;
          break search;
        }
        // No cut can beat a perfectly balanced pipeline without a bubble, and every later step of
        // the escalation (leaner layouts, recomputation, more ZeRO) is slower still: skip the rest.
        for (const goal of active) {
          const best = bests.get(goal);
          const own = entryFamilies(goal, entries).flatMap((f) => f.entries);
          if (
            tier === 0 &&
            best !== undefined &&
            lowerBoundSec(ctx, model, replica, microbatches, own) >= best.stepSec
          ) {
            pending.delete(goal);
          }
        }
        for (const zero of zeroOrder(request, replica.dp)) {
          const config = pipelineConfig(request, { dp: replica.dp, microBatch: mb, recompute, zero });
          for (const goal of active) {
            if (!pending.has(goal)) continue;
            tried++;
            const result = solveForGoal(
              { ...ctx, dims, devices: cluster.devices },
              goal,
              model,
              replica,
              config,
              entries,
            );
            dpStates += result.dpStates;
            if (result.candidate === null) {
              if (goal === target && result.shortfallBytes !== null) {
                shortfall = Math.min(shortfall ?? Number.POSITIVE_INFINITY, result.shortfallBytes);
              }
              continue;
            }
            ctx.onCandidate?.(result.candidate);
            offer(goal, result.candidate);
            pending.delete(goal);
          }
        }
        if (pending.size === 0) break escalation;
      }
    }
  }
  ctx.onProgress?.({ phase: 'done', fraction: 1 });
  const best = bests.get(target) ?? null;
  const frameworks: Partial<Record<FrameworkName, Candidate>> = {};
  for (const [goal, candidate] of bests)
    if (goal.framework !== null) frameworks[goal.framework.name] = candidate;
  return {
    best,
    frameworks: target.framework === null ? frameworks : {},
    unbuildable,
    shortfallBytes: best === null ? shortfall : null,
    configurationsTried: tried,
    dpStates,
    timedOut,
  };
}

/** Every stage layout offered on the replica's sub-meshes; null when the deadline passed first. */
async function seriesFor(
  ctx: SearchContext,
  model: PlannedModel,
  replica: ReplicaShape,
  recompute: Recompute,
  choices: readonly LayoutChoice[],
): Promise<TaggedEntry[] | null> {
  const out: TaggedEntry[] = [];
  for (const m of replica.stageDevices) {
    for (const shape of logicalShapes(m, ctx.request.parallel?.tp)) {
      const mesh = logicalMesh(ctx.cluster, shape);
      for (const choice of choices) {
        // Each mesh may need fresh ILP solves; past the deadline the configuration is given up.
        if (Date.now() > ctx.deadlineMs) return null;
        if (choice.startsWith('megatron') && shape[0] !== 1) continue;
        if (choice === 'megatron-sp' && shape[1] === 1) continue;
        const sp = ctx.request.parallel?.sequenceParallel;
        if ((sp === true && choice === 'megatron') || (sp === false && choice === 'megatron-sp')) continue;
        const series = await ctx.solver.series(model.layers, mesh, choice, recompute);
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
function lowerBoundSec(
  ctx: SearchContext,
  model: PlannedModel,
  replica: ReplicaShape,
  microbatches: number,
  entries: readonly SeriesEntry[],
): number {
  if (entries.length === 0) return Number.POSITIVE_INFINITY;
  const L = model.layers.length;
  // Every framework's runtime overlaps tensor parallelism exactly when the request asks for it.
  const overlap = ctx.request.parallel?.overlapTensorParallelComm ?? false;
  const latency = (e: SeriesEntry, first: number, last: number) =>
    e.series.latencySec(first, last) - (overlap ? e.series.hiddenByOverlapSec(first, last) : 0);
  let slowestStage = Number.POSITIVE_INFINITY;
  for (const e of entries) {
    const stages = Math.min(L, replica.replicaDevices / e.stageDevices);
    slowestStage = Math.min(slowestStage, latency(e, 0, L - 1) / stages);
  }
  let sum = 0;
  for (let l = 0; l < L; l++) sum += Math.min(...entries.map((e) => latency(e, l, l)));
  return sum + (microbatches - 1) * slowestStage;
}

export type { PipelineConfig };
