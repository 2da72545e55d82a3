import type { Cluster } from '../cluster/cluster.ts';
import { zero3PrefetchBytes } from '../cost/memory.ts';
import { type PipelineConfig, pipelineConfig } from '../cost/pipeline-config.ts';
import { paramElements } from '../graph/graph.ts';
import {
  type BuildOptions,
  cpCommTypeOf,
  precisionOptions,
  resolveDims,
  type TransformerDims,
} from '../model/dims.ts';
import type { PlannedModel } from '../model/planned.ts';
import type { FrameworkName, PlanRequest } from '../schema/index.ts';
import {
  contextParallelDegrees,
  expertParallelDegrees,
  microBatchSizes,
  type ReplicaShape,
  recomputeOrder,
  replicaShapes,
  zeroSteps,
} from './config-space.ts';
import { solveForGoal } from './goal-solve.ts';
import { entryFamilies, type Goal, goalRecomputes, goalsFor, megatronLayoutsOnly } from './goals.ts';
import { type LayerSolver, type LayoutChoice, megatronVariant } from './layer-solver.ts';
import { layeringCount, plannedModels } from './model-of.ts';
import type { Candidate } from './replica-solve.ts';
import { lowerBoundSec, seriesFor } from './series.ts';

export type { Candidate, PlannedStage } from './replica-solve.ts';

/**
 * Layout choices offered to the stage DP for every layer range and mesh: the ILP's fastest layout
 * and Megatron-LM's (so a plan is never worse than the framework default; an MoE's experts folded
 * over the tp ranks only with sequence parallelism, which Megatron's MoE layers need under tp > 1),
 * then, only when memory demands it, the ILP under tighter budgets.
 */
const CHOICE_SETS: readonly (readonly LayoutChoice[])[] = [
  ['fast', 'megatron', 'megatron-sp', 'megatron-sp-ep'],
  ['fast', 'megatron', 'megatron-sp', 'megatron-sp-ep', 'lean'],
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
  /**
   * When nothing was found for a framework target: the reason its rules gave most often for the
   * configurations they refused, and how many of the configurations tried that was.
   */
  readonly refusal: { readonly reason: string; readonly configurations: number } | null;
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
  /**
   * The step time a candidate runs at once its schedule (interleaving) is chosen; candidates are
   * ranked by it. Without it they are ranked by the stage DP's 1F1B price.
   */
  readonly scheduledSec?: (candidate: Candidate) => number;
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
  const work = workItems(request, cluster);
  const unbuildable: Partial<Record<FrameworkName, string>> = {};
  const modelDims =
    spec.kind === 'transformer'
      ? resolveDims(spec, { microBatch: 1, ...precisionOptions(request.training) })
      : null;
  // A framework that cannot build the model is not searched; the target always is (and finds nothing).
  const goals = goalsFor(request.options.target).filter((goal, i) => {
    const verdict = goal.framework?.builds(modelDims) ?? { ok: true };
    if (!verdict.ok) unbuildable[goal.framework!.name] = verdict.reason;
    return verdict.ok || i === 0;
  });
  const target = goals[0]!;
  const bests = new Map<Goal, Candidate>();
  // The target framework's refusals, by reason: what to tell a user when nothing is found.
  const refusals = new Map<string, number>();
  const models = new Map<
    string,
    {
      layered: readonly (PlannedModel | undefined)[];
      dims: TransformerDims | null;
      /** Per layering, the most ZeRO-3 saves by not prefetching (the largest layer, held once fewer). */
      prefetchBytes: readonly number[];
    }
  >();
  let shortfall: number | null = null;
  let tried = 0;
  let dpStates = 0;
  let timedOut = false;
  const keep = (goal: Goal, candidate: Candidate) => {
    const known = bests.get(goal);
    if (known !== undefined && known.stepSec <= candidate.stepSec) return;
    bests.set(goal, candidate);
    // A framework's plan is a plan: the overall best is never slower than any framework's.
    if (goal !== target && target.framework === null) keep(target, candidate);
    if (goal === target) ctx.onImprovement?.(candidate, { dpStates, configurationsTried: tried });
  };
  const offer = (goal: Goal, found: Candidate) => {
    const known = bests.get(goal);
    // Interleaving shrinks at most the bubble: B·T of the 1F1B price (B + S − 1)·T always remains.
    const B = found.config.microbatches;
    const floorSec = (found.stepSec * B) / (B + found.stages.length - 1);
    if (known !== undefined && known.stepSec <= floorSec) return;
    keep(goal, ctx.scheduledSec === undefined ? found : { ...found, stepSec: ctx.scheduledSec(found) });
  };
  search: for (const [index, { replica, mb, ep, layering }] of work.entries()) {
    ctx.signal?.throwIfAborted();
    if (Date.now() > ctx.deadlineMs) {
      timedOut = true;
      break;
    }
    const { dp, cp } = replica;
    ctx.onProgress?.({
      phase: `dp=${dp}${cp > 1 ? ` cp=${cp}` : ''}${ep > 1 ? ` ep=${ep}` : ''} microBatch=${mb}`,
      fraction: index / work.length,
    });
    const build: BuildOptions = {
      microBatch: mb,
      ...precisionOptions(request.training),
      contextParallel: { degree: cp, commType: cpCommTypeOf(request) },
      expertParallel: ep,
    };
    const key = `${mb}|${cp}|${ep}`;
    let built = models.get(key);
    if (built === undefined) {
      const layered = plannedModels(spec, build);
      built = {
        layered,
        dims: spec.kind === 'transformer' ? resolveDims(spec, build) : null,
        prefetchBytes: layered.map((m) =>
          zero3PrefetchBytes(m?.layers.reduce((most, l) => Math.max(most, paramElements(l.graph)), 0) ?? 0),
        ),
      };
      models.set(key, built);
    }
    const { dims } = built;
    const model = built.layered[layering];
    if (model === undefined) continue;
    const prefetchBytes = built.prefetchBytes[layering]!;
    const microbatches = request.training.globalBatch / (replica.dp * mb);
    // Goals still escalating (recomputation, leaner layouts, ZeRO) at this replica and microbatch.
    const pending = new Set(goals);
    escalation: for (const recompute of recomputeOrder(request)) {
      for (const [tier, choices] of CHOICE_SETS.entries()) {
        // Leaner layouts are the ILP's own: Megatron-layout goals have nothing new in later tiers,
        // and tensor-parallel groups inside a node are theirs alone.
        const pinned = request.parallel?.recompute !== undefined;
        const active = [...pending].filter(
          (g) =>
            goalRecomputes(g, recompute, pinned) &&
            (megatronLayoutsOnly(g) ? tier === 0 : !replica.tensorParallelGroups),
        );
        if (active.length === 0) continue;
        // A pinned expert TP is a Megatron layout's notion: every goal plans with those layouts then.
        const offered =
          active.every(megatronLayoutsOnly) || request.parallel?.etp !== undefined
            ? choices.filter((c) => megatronVariant(c) !== null)
            : choices;
        const entries = await seriesFor(ctx, model, replica, { dp, cp, ep }, recompute, offered);
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
            lowerBoundSec(request, model, replica, microbatches, own) >= best.stepSec
          ) {
            pending.delete(goal);
          }
        }
        // What each goal's last attempt fell short by. ZeRO-3 without prefetching saves at most
        // `prefetchBytes` on any stage: it is tried only after prefetching fell short by no more
        // (not where the cut failed otherwise, nor where nothing was short).
        const lastShortfall = new Map<Goal, number | null>();
        for (const { zero, zero3Prefetch } of zeroSteps(request, replica.dp)) {
          const config = pipelineConfig(request, {
            dp,
            cp,
            ep,
            microBatch: mb,
            recompute,
            zero,
            zero3Prefetch,
          });
          for (const goal of active) {
            if (!pending.has(goal)) continue;
            const short = lastShortfall.get(goal) ?? null;
            const afterPrefetching = !zero3Prefetch && request.parallel?.zero3Prefetch === undefined;
            if (afterPrefetching && (short === null || short > prefetchBytes)) continue;
            tried++;
            const result = solveForGoal(
              { ...ctx, dims, devices: cluster.devices },
              goal,
              model,
              replica,
              config,
              entries,
              bests.get(goal)?.stepSec,
            );
            dpStates += result.dpStates;
            if (result.candidate === null) {
              if (goal === target && result.refusal !== undefined)
                refusals.set(result.refusal, (refusals.get(result.refusal) ?? 0) + 1);
              lastShortfall.set(goal, result.shortfallBytes);
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
    refusal: best === null ? mostFrequent(refusals) : null,
    configurationsTried: tried,
    dpStates,
    timedOut,
  };
}

/** One configuration family the search visits: a replica, a microbatch, an expert degree, a layering. */
interface WorkItem {
  readonly replica: ReplicaShape;
  readonly mb: number;
  readonly ep: number;
  /** Which of a graph's layerings (one for a transformer). */
  readonly layering: number;
}

/** Every (context degree, replica, microbatch, expert degree, layering) the search visits, in order. */
function workItems(request: PlanRequest, cluster: Cluster): WorkItem[] {
  const spec = request.model;
  const layerCountGuess = spec.kind === 'transformer' ? spec.layers + 2 : Number.POSITIVE_INFINITY;
  const layerings = Array.from({ length: layeringCount(spec) }, (_, i) => i);
  return contextParallelDegrees(request, cluster).flatMap((cp) =>
    replicaShapes(cluster, request, layerCountGuess, cp).flatMap((replica) =>
      microBatchSizes(request, replica.dp).flatMap((mb) =>
        expertParallelDegrees(request, replica.dp * cp).flatMap((ep) =>
          layerings.map((layering) => ({ replica, mb, ep, layering })),
        ),
      ),
    ),
  );
}

export type { PipelineConfig };

/** The reason counted most often (the first of equals), with its count; null for none. */
function mostFrequent(counts: ReadonlyMap<string, number>): SearchOutcome['refusal'] {
  let top: SearchOutcome['refusal'] = null;
  for (const [reason, configurations] of counts)
    if (top === null || configurations > top.configurations) top = { reason, configurations };
  return top;
}
