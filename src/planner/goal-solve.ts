/**
 * One configuration solved for one goal: for `any`, Alpa's DP over every offered layout; for a
 * framework, one DP per family of layouts it runs (one tp and SP choice on every stage), priced
 * with its runtime and kept only where its rules accept the cut.
 */
import type { PipelineConfig } from '../cost/pipeline-config.ts';
import type { PlannedModel } from '../model/planned.ts';
import type { ReplicaShape } from './config-space.ts';
import {
  anyLayoutShape,
  blocksOfCut,
  entryFamilies,
  familyShape,
  type Goal,
  megatronLayoutsOnly,
  type ShapeContext,
  type TaggedEntry,
  withRuntime,
} from './goals.ts';
import { priceCuts, type ReplicaContext, type ReplicaResult, solveReplica } from './replica-solve.ts';
import { lowerBoundSec } from './series.ts';

export function solveForGoal(
  ctx: Omit<ReplicaContext, 'goal'> & ShapeContext,
  goal: Goal,
  model: PlannedModel,
  replica: ReplicaShape,
  config: PipelineConfig,
  entries: readonly TaggedEntry[],
  /** The goal's best step time so far: a family whose bound cannot beat it is not solved. */
  bestSec = Number.POSITIVE_INFINITY,
): ReplicaResult {
  const pinnedPp = ctx.request.parallel?.pp;
  const replicaCtx: ReplicaContext = {
    ...ctx,
    goal: goal.name,
    ...(pinnedPp !== undefined ? { pinnedPp } : {}),
  };
  const framework = goal.framework;
  if (framework === null) return solveReplica(replicaCtx, model, replica, config, entries);
  if (!megatronLayoutsOnly(goal)) {
    // A framework that runs any layout (JAX) still has rules of its own and prices with its runtime.
    const shape = anyLayoutShape(ctx, replica, config);
    const verdict = framework.runs(shape);
    if (!verdict.ok) return { candidate: null, shortfallBytes: null, dpStates: 0, refusal: verdict.reason };
    const priced = withRuntime(framework, shape, config, ctx.request);
    return solveReplica(replicaCtx, model, replica, priced, entries);
  }
  let best: ReplicaResult = { candidate: null, shortfallBytes: null, dpStates: 0 };
  let dpStates = 0;
  let refusal: string | undefined;
  for (const family of entryFamilies(goal, entries)) {
    const tensorParallel = family.tensorParallel!;
    // Every stage of a framework family has tp devices: only replicas cut into such stages serve it.
    if (!replica.stageDevices.includes(tensorParallel.tp)) continue;
    if (lowerBoundSec(ctx.request, model, replica, config.microbatches, family.entries) >= bestSec) continue;
    const shape = familyShape(ctx, tensorParallel, replica, config, null);
    const verdict = framework.runs(shape);
    if (!verdict.ok) {
      refusal ??= verdict.reason;
      continue;
    }
    const priced = withRuntime(framework, shape, config, ctx.request);
    const cuts = framework.stageCuts(shape);
    const result =
      cuts === null
        ? solveReplica(replicaCtx, model, replica, priced, family.entries)
        : priceCuts(replicaCtx, model, replica, priced, family.entries[0]!, cuts);
    dpStates += result.dpStates;
    const candidate = result.candidate;
    if (candidate === null) {
      if (best.candidate === null && result.shortfallBytes !== null) {
        best = { ...best, shortfallBytes: Math.min(best.shortfallBytes ?? Infinity, result.shortfallBytes) };
      }
      continue;
    }
    const cut = familyShape(
      ctx,
      tensorParallel,
      replica,
      config,
      blocksOfCut(candidate.stages, model.layers.length, ctx.dims),
    );
    const cutVerdict = framework.runs(cut);
    if (!cutVerdict.ok) {
      refusal ??= cutVerdict.reason;
      continue;
    }
    if (best.candidate === null || candidate.stepSec < best.candidate.stepSec) {
      best = { candidate, shortfallBytes: null, dpStates: 0 };
    }
  }
  return { ...best, dpStates, ...(best.candidate === null && refusal !== undefined ? { refusal } : {}) };
}
