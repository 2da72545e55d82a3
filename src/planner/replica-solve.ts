/**
 * One pipeline replica's stages for one configuration (DESIGN.md §6): every layer range priced as a
 * stage on each offered sub-mesh and layout, then Alpa's stage DP picks the cut — or, for a framework
 * that partitions layers itself, the cuts it can express are priced as they are.
 */
import { fewestStages, type StageOption, solveStageDp } from '../../solvers/index.ts';
import type { Cluster } from '../cluster/cluster.ts';
import { maxStagesAfter, paramBytes } from '../cost/memory.ts';
import type { PipelineConfig } from '../cost/pipeline-config.ts';
import { type LayerSeries, priceStage, stageLinks, stageMemory } from '../cost/stage.ts';
import { pipelineStep } from '../cost/step.ts';
import type { PlannedModel } from '../model/planned.ts';
import type { FrameworkName } from '../schema/index.ts';
import type { ReplicaShape } from './config-space.ts';
import type { LayoutChoice } from './layer-solver.ts';

/** A layer series the replica may use for its stages, on sub-meshes of `stageDevices` devices. */
export interface SeriesEntry {
  readonly series: LayerSeries;
  readonly stageDevices: number;
  /** How the series' layers were laid out. */
  readonly choice: LayoutChoice;
}

export interface PlannedStage extends SeriesEntry {
  readonly first: number;
  readonly last: number;
}

export interface Candidate {
  readonly model: PlannedModel;
  readonly replica: ReplicaShape;
  readonly config: PipelineConfig;
  readonly stages: readonly PlannedStage[];
  readonly stepSec: number;
  /** What it was found for: the best plan (`any`) or one framework's. */
  readonly goal: 'any' | FrameworkName;
}

export interface ReplicaResult {
  readonly candidate: Candidate | null;
  /** Smallest memory shortfall of a stage that did not fit, when nothing did. */
  readonly shortfallBytes: number | null;
  readonly dpStates: number;
  /** Why the goal's framework runs none of the configuration's layouts or cuts, when its rules said so. */
  readonly refusal?: string;
}

export interface ReplicaContext {
  readonly goal: 'any' | FrameworkName;
  readonly cluster: Cluster;
  readonly capacityBytes: number;
  readonly deadlineMs: number;
  readonly signal?: AbortSignal;
  /** A pinned pipeline degree: the cut must have exactly this many stages. */
  readonly pinnedPp?: number;
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

/**
 * Memory no cut can avoid, per device of the replica, beyond its capacity: every layer at its
 * leanest offered layout holding its parameter state and the activations of the microbatches every
 * stage keeps (one under 1F1B, all under GPipe). Positive: no cut fits, and the DP need not be built.
 */
function unavoidableOverflowBytes(
  ctx: ReplicaContext,
  model: PlannedModel,
  replica: ReplicaShape,
  config: PipelineConfig,
  entries: readonly SeriesEntry[],
): number {
  const { stageDevices } = replica;
  const L = model.layers.length;
  const inFlight = config.schedule === 'gpipe' ? config.microbatches : 1;
  let total = 0;
  for (let layer = 0; layer < L; layer++) {
    let leanest = Number.POSITIVE_INFINITY;
    for (const e of entries) {
      if (!stageDevices.includes(e.stageDevices)) continue;
      // Summed over layers: only what adds up (ZeRO-3's working set is held once, not per layer).
      const memory = stageMemory(e.series, layer, layer, config, true);
      const perDevice = paramBytes(memory.params) + inFlight * memory.activationBytesPerMicrobatch;
      leanest = Math.min(leanest, e.stageDevices * perDevice);
    }
    total += leanest;
  }
  return total / replica.replicaDevices - ctx.capacityBytes;
}

/** Alpa's stage DP over every layer range × sub-mesh × offered layout. */
export function solveReplica(
  ctx: ReplicaContext,
  model: PlannedModel,
  replica: ReplicaShape,
  config: PipelineConfig,
  entries: readonly SeriesEntry[],
): ReplicaResult {
  const L = model.layers.length;
  const sizes = replica.stageDevices;
  const overflow = unavoidableOverflowBytes(ctx, model, replica, config, entries);
  // Infinite where some layer has no layout on any of the replica's meshes: that is no memory shortfall.
  if (overflow > 0)
    return { candidate: null, shortfallBytes: Number.isFinite(overflow) ? overflow : null, dpStates: 0 };
  // Each sub-mesh size prices only its own layouts; the tag is the entry's index for the DP's answer.
  const entriesBySize = sizes.map((m) =>
    entries.flatMap((entry, tag) => (entry.stageDevices === m ? [{ entry, tag }] : [])),
  );
  const longest = longestStage(L, replica);
  // Memory first: most configurations the search visits have no cut that fits, and memory alone
  // proves so for a fraction of what pricing every layer range's times would cost.
  const E = entries.length;
  const S = sizes.length;
  const after = new Float64Array(L * L * E).fill(-1);
  const cellAfter = new Float64Array(L * L * S).fill(-1);
  let shortfall = Number.POSITIVE_INFINITY;
  for (let first = 0; first < L; first++) {
    for (let s = 0; s < S; s++) {
      for (const { entry, tag } of entriesBySize[s]!) {
        for (let last = first; last < Math.min(L, first + longest); last++) {
          const memory = stageMemory(entry.series, first, last, config);
          const fits = maxStagesAfter(memory, ctx.capacityBytes, config.schedule, config.microbatches);
          if (fits < 0) {
            // A stage's memory only grows with its layers: no longer range of this layout fits
            // either, and this one overflows least.
            shortfall = Math.min(
              shortfall,
              paramBytes(memory.params) + memory.activationBytesPerMicrobatch - ctx.capacityBytes,
            );
            break;
          }
          after[(first * L + last) * E + tag] = fits;
          const cell = (first * L + last) * S + s;
          cellAfter[cell] = Math.max(cellAfter[cell]!, fits);
        }
      }
    }
  }
  const problem = {
    layers: L,
    submeshDevices: sizes.map((m) => m / replica.deviceUnit),
    totalDevices: replica.replicaDevices / replica.deviceUnit,
    microbatches: config.microbatches,
    ...(ctx.pinnedPp !== undefined ? { maxStages: ctx.pinnedPp } : {}),
  };
  if (fewestStages({ ...problem, maxStageLayers: longest, cellAfter }) === Number.POSITIVE_INFINITY) {
    return { candidate: null, shortfallBytes: Number.isFinite(shortfall) ? shortfall : null, dpStates: 0 };
  }
  const links = sizes.map((m) => stageLinks(ctx.cluster, m, config));
  const options: StageOption[][][][] = [];
  // Ranges no layout fits (most long ones) share one row of empty cells.
  const nothingFits: StageOption[][] = sizes.map(() => []);
  for (let first = 0; first < L; first++) {
    const row: StageOption[][][] = [];
    for (let last = first; last < L; last++) {
      let fits = false;
      for (let s = 0; s < S; s++) fits ||= cellAfter[(first * L + last) * S + s]! >= 0;
      if (!fits) {
        row.push(nothingFits);
        continue;
      }
      row.push(
        sizes.map((_, s) => {
          const cell: StageOption[] = [];
          for (const { entry, tag } of entriesBySize[s]!) {
            const maxAfter = after[(first * L + last) * E + tag]!;
            if (maxAfter < 0) continue;
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
            cell.push({
              latencySec: price.latencySec,
              onceSec: price.dpPerStepSec + price.optimizerSec,
              maxStagesAfter: maxAfter,
              tag,
            });
          }
          return cell;
        }),
      );
    }
    options.push(row);
  }
  const result = solveStageDp(
    { ...problem, options },
    {
      ...(ctx.signal ? { signal: ctx.signal } : {}),
      deadlineMs: performance.now() + Math.max(0, ctx.deadlineMs - Date.now()),
    },
  );
  const none = (shortfallBytes: number | null): ReplicaResult => ({
    candidate: null,
    shortfallBytes,
    dpStates: result.dpStates,
  });
  if (result.status === 'infeasible') return none(Number.isFinite(shortfall) ? shortfall : null);
  // The deadline passed before the DP found any valid cut: the outer loop reports the timeout.
  if (result.status === 'timeout') return none(null);
  if (ctx.pinnedPp !== undefined && result.stages.length !== ctx.pinnedPp) return none(null);
  const stages = result.stages.map((s) => ({ ...entries[s.tag]!, first: s.first, last: s.last }));
  return {
    candidate: { model, replica, config, stages, stepSec: result.stepSec, goal: ctx.goal },
    shortfallBytes: null,
    dpStates: result.dpStates,
  };
}

/**
 * The best of a few given cuts (layers per stage) on one layer series: for a framework that
 * partitions the model itself, these are the only cuts it can run. Priced and memory-checked as
 * the DP prices a stage.
 */
export function priceCuts(
  ctx: ReplicaContext,
  model: PlannedModel,
  replica: ReplicaShape,
  config: PipelineConfig,
  entry: SeriesEntry,
  cuts: readonly (readonly number[])[],
): ReplicaResult {
  const L = model.layers.length;
  const links = stageLinks(ctx.cluster, entry.stageDevices, config);
  let best: Candidate | null = null;
  let shortfall = Number.POSITIVE_INFINITY;
  for (const cut of cuts) {
    if (cut.reduce((s, n) => s + n, 0) !== L) continue;
    let first = 0;
    const stages = cut.map((n) => {
      const stage = { ...entry, first, last: first + n - 1 };
      first += n;
      return stage;
    });
    const prices = stages.map((s) =>
      priceStage(s.series, s.first, s.last, L, model.streamBytes, links, config, ctx.cluster),
    );
    const overflow = prices.reduce((worst, price, i) => {
      const after = maxStagesAfter(price, ctx.capacityBytes, config.schedule, config.microbatches);
      const over = paramBytes(price.params) + price.activationBytesPerMicrobatch - ctx.capacityBytes;
      return after < stages.length - 1 - i ? Math.max(worst, over) : worst;
    }, Number.NEGATIVE_INFINITY);
    if (overflow > Number.NEGATIVE_INFINITY) {
      shortfall = Math.min(shortfall, Math.max(0, overflow));
      continue;
    }
    const stepSec = pipelineStep(prices, config.microbatches, 1).stepSec;
    if (best === null || stepSec < best.stepSec)
      best = { model, replica, config, stages, stepSec, goal: ctx.goal };
  }
  return {
    candidate: best,
    shortfallBytes: best === null && Number.isFinite(shortfall) ? shortfall : null,
    dpStates: 0,
  };
}
