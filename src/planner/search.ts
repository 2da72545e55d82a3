import { type StageOption, solveStageDp } from '../../solvers/index.ts';
import type { Cluster } from '../cluster/cluster.ts';
import { logicalMesh } from '../cluster/mesh.ts';
import { maxStagesAfter, paramBytes } from '../cost/memory.ts';
import { type PipelineConfig, pipelineConfig } from '../cost/pipeline-config.ts';
import { type LayerSeries, priceStage, stageLinks } from '../cost/stage.ts';
import type { PlannedModel } from '../model/planned.ts';
import type { PlanRequest, Recompute } from '../schema/index.ts';
import {
  logicalShapes,
  microBatchSizes,
  type ReplicaShape,
  recomputeOrder,
  replicaShapes,
  zeroOrder,
} from './config-space.ts';
import type { LayerSolver, LayoutChoice } from './layer-solver.ts';
import { layeringCount, plannedModels } from './model-of.ts';

/**
 * Layout choices offered to the stage DP for every layer range and mesh: the ILP's fastest layout
 * and Megatron-LM's (so a plan is never worse than the framework default), then, only when memory
 * demands it, the ILP under tighter budgets.
 */
const CHOICE_SETS: readonly (readonly LayoutChoice[])[] = [
  ['fast', 'megatron', 'megatron-sp'],
  ['fast', 'megatron', 'megatron-sp', 'lean'],
];

export interface PlannedStage {
  readonly first: number;
  readonly last: number;
  readonly series: LayerSeries;
  readonly stageDevices: number;
}

export interface Candidate {
  readonly model: PlannedModel;
  readonly replica: ReplicaShape;
  readonly config: PipelineConfig;
  readonly stages: readonly PlannedStage[];
  readonly stepSec: number;
}

export interface SearchProgress {
  readonly phase: string;
  readonly fraction: number;
}

export interface SearchOutcome {
  readonly best: Candidate | null;
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
  /** Each new best candidate, with the search's counters at that moment. */
  readonly onImprovement?: (
    best: Candidate,
    counts: { readonly dpStates: number; readonly configurationsTried: number },
  ) => void;
}

interface SeriesEntry {
  readonly series: LayerSeries;
  readonly stageDevices: number;
}

/**
 * The outer loops of DESIGN.md §6 around Alpa's stage DP: microbatch size, data-parallel degree
 * (one replica planned on devices / dp), then recomputation and ZeRO escalated only as far as
 * memory demands. Every stage option is a sum of memoised per-layer ILP optima.
 */
export async function searchPlans(ctx: SearchContext): Promise<SearchOutcome> {
  const { request, cluster } = ctx;
  const spec = request.model;
  const layerCountGuess = spec.kind === 'transformer' ? spec.layers + 2 : Number.POSITIVE_INFINITY;
  const replicas = replicaShapes(cluster, request, layerCountGuess);
  const layerings = Array.from({ length: layeringCount(spec) }, (_, i) => i);
  const work = replicas.flatMap((r) =>
    microBatchSizes(request, r.dp).flatMap((mb) =>
      layerings.map((layering) => ({ replica: r, mb, layering })),
    ),
  );
  const models = new Map<number, readonly (PlannedModel | undefined)[]>();
  let best: Candidate | null = null;
  let shortfall: number | null = null;
  let tried = 0;
  let dpStates = 0;
  let timedOut = false;
  search: for (const [index, { replica, mb, layering }] of work.entries()) {
    ctx.signal?.throwIfAborted();
    if (Date.now() > ctx.deadlineMs) {
      timedOut = true;
      break;
    }
    ctx.onProgress?.({ phase: `dp=${replica.dp} microBatch=${mb}`, fraction: index / work.length });
    let layered = models.get(mb);
    if (layered === undefined) {
      layered = plannedModels(spec, mb, request.training.precision);
      models.set(mb, layered);
    }
    const model = layered[layering];
    if (model === undefined) continue;
    const microbatches = request.training.globalBatch / (replica.dp * mb);
    escalation: for (const recompute of recomputeOrder(request)) {
      for (const [tier, choices] of CHOICE_SETS.entries()) {
        const series = await seriesFor(ctx, model, replica, recompute, choices);
        if (series === null) {
          timedOut = true;
          break search;
        }
        // No cut can beat a perfectly balanced pipeline without a bubble, and every later step of
        // the escalation (leaner layouts, recomputation, more ZeRO) is slower still: skip the rest.
        const probe = {
          microbatches,
          overlapTensorParallelComm: request.parallel?.overlapTensorParallelComm ?? false,
        };
        if (tier === 0 && best !== null && lowerBoundSec(model, replica, probe, series) >= best.stepSec) {
          break escalation;
        }
        for (const zero of zeroOrder(request, replica.dp)) {
          const config = pipelineConfig(request, { dp: replica.dp, microBatch: mb, recompute, zero });
          tried++;
          const result = solveReplica(ctx, model, replica, config, series);
          dpStates += result.dpStates;
          if (result.candidate === null) {
            if (result.shortfallBytes !== null) {
              shortfall = Math.min(shortfall ?? Number.POSITIVE_INFINITY, result.shortfallBytes);
            }
            continue;
          }
          if (best === null || result.candidate.stepSec < best.stepSec) {
            best = result.candidate;
            ctx.onImprovement?.(best, { dpStates, configurationsTried: tried });
          }
          break escalation;
        }
      }
    }
  }
  ctx.onProgress?.({ phase: 'done', fraction: 1 });
  return {
    best,
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
): Promise<SeriesEntry[] | null> {
  const out: SeriesEntry[] = [];
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
        if (series !== null) out.push({ series, stageDevices: m });
      }
    }
  }
  return out;
}

/** B × (the fastest whole-model latency on any offered mesh) / (most stages the replica can have). */
function lowerBoundSec(
  model: PlannedModel,
  replica: ReplicaShape,
  config: Pick<PipelineConfig, 'microbatches' | 'overlapTensorParallelComm'>,
  entries: readonly SeriesEntry[],
): number {
  const last = model.layers.length - 1;
  let fastest = Number.POSITIVE_INFINITY;
  for (const e of entries) {
    const stages = Math.min(model.layers.length, replica.replicaDevices / e.stageDevices);
    const hidden = config.overlapTensorParallelComm ? e.series.hiddenByOverlapSec(0, last) : 0;
    fastest = Math.min(fastest, (e.series.latencySec(0, last) - hidden) / stages);
  }
  return config.microbatches * fastest;
}

/**
 * Alpa's stage_imbalance_tolerance: once stages are whole nodes their number is fixed, and a stage
 * with more than twice its even share of layers (plus slack for the embedding and head) is never
 * the bottleneck-minimising choice worth pricing.
 */
function longestStage(layers: number, replica: ReplicaShape): number {
  if (replica.deviceUnit === 1) return layers;
  const stages = replica.replicaDevices / replica.deviceUnit;
  return Math.min(layers, 2 * Math.ceil(layers / stages) + 2);
}

function solveReplica(
  ctx: SearchContext,
  model: PlannedModel,
  replica: ReplicaShape,
  config: PipelineConfig,
  entries: readonly SeriesEntry[],
): { candidate: Candidate | null; shortfallBytes: number | null; dpStates: number } {
  const L = model.layers.length;
  const sizes = replica.stageDevices;
  const links = sizes.map((m) => stageLinks(ctx.cluster, m, config.dp));
  // Each sub-mesh size prices only its own layouts; the tag is the entry's index for the DP's answer.
  const entriesBySize = sizes.map((m) =>
    entries.flatMap((entry, tag) => (entry.stageDevices === m ? [{ entry, tag }] : [])),
  );
  const options: StageOption[][][][] = [];
  let shortfall = Number.POSITIVE_INFINITY;
  const longest = longestStage(L, replica);
  for (let first = 0; first < L; first++) {
    const row: StageOption[][][] = [];
    for (let last = first; last < L; last++) {
      if (last - first + 1 > longest) {
        row.push(sizes.map(() => []));
        continue;
      }
      row.push(
        sizes.map((_, s) => {
          const cell: StageOption[] = [];
          for (const { entry, tag } of entriesBySize[s]!) {
            const price = priceStage(
              entry.series,
              first,
              last,
              L,
              model.streamBytes,
              links[s]!,
              config,
              ctx.cluster,
            );
            const after = maxStagesAfter(price, ctx.capacityBytes, config.schedule, config.microbatches);
            if (after < 0) {
              shortfall = Math.min(
                shortfall,
                paramBytes(price.params) + price.activationBytesPerMicrobatch - ctx.capacityBytes,
              );
              continue;
            }
            cell.push({
              latencySec: price.latencySec,
              onceSec: price.dpPerStepSec + price.optimizerSec,
              maxStagesAfter: after,
              tag,
            });
          }
          return cell;
        }),
      );
    }
    options.push(row);
  }
  const pinnedPp = ctx.request.parallel?.pp;
  const result = solveStageDp(
    {
      layers: L,
      submeshDevices: sizes.map((m) => m / replica.deviceUnit),
      totalDevices: replica.replicaDevices / replica.deviceUnit,
      microbatches: config.microbatches,
      options,
      ...(pinnedPp !== undefined ? { maxStages: pinnedPp } : {}),
    },
    {
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      deadlineMs: performance.now() + Math.max(0, ctx.deadlineMs - Date.now()),
    },
  );
  if (result.status === 'infeasible') {
    return {
      candidate: null,
      shortfallBytes: Number.isFinite(shortfall) ? shortfall : null,
      dpStates: result.dpStates,
    };
  }
  // The deadline passed before the DP found any valid cut: the outer loop reports the timeout.
  if (result.status === 'timeout')
    return { candidate: null, shortfallBytes: null, dpStates: result.dpStates };
  if (pinnedPp !== undefined && result.stages.length !== pinnedPp) {
    return { candidate: null, shortfallBytes: null, dpStates: result.dpStates };
  }
  const stages = result.stages.map((s) => ({
    first: s.first,
    last: s.last,
    series: entries[s.tag]!.series,
    stageDevices: entries[s.tag]!.stageDevices,
  }));
  return {
    candidate: { model, replica, config, stages, stepSec: result.stepSec },
    shortfallBytes: null,
    dpStates: result.dpStates,
  };
}
