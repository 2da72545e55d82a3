import type { Cluster } from '../cluster/cluster.ts';
import { buildExports, FRAMEWORKS } from '../frameworks/index.ts';
import type { Plan, PlanRequest } from '../schema/index.ts';
import { AlternativesFrontier, onlyChosen } from './alternatives.ts';
import { assemble } from './assemble.ts';
import { recomputeModules } from './config-space.ts';
import {
  assembleCandidate,
  assembleFrameworks,
  candidateScheduledSec,
  fasterFramework,
  frameworkPlans,
} from './framework-plans.ts';
import { LayerSolver } from './layer-solver.ts';
import {
  ASSUMPTIONS,
  CUT_SHORT_REASON,
  type SolverInfo,
  timeLimitReason,
  unplannedPlan,
} from './outcomes.ts';
import { parsePlanRequest, plannedCapacityBytes } from './request.ts';
import { type Candidate, type SearchOutcome, type SearchProgress, searchPlans } from './search.ts';

export interface PlanHooks {
  readonly onProgress?: (progress: SearchProgress) => void;
  readonly signal?: AbortSignal;
  /**
   * When the time limit runs out (epoch ms); default: the request's `timeLimitSec` from now. A job
   * queue passes its own so the time spent starting a planning thread counts against the limit.
   */
  readonly deadlineMs?: number;
  /**
   * Called with each better plan as the search finds it, stamped `feasible`: whoever must stop the
   * planner at the deadline (a solver may ignore its own limit) keeps the latest as the answer.
   */
  readonly onBest?: (plan: Plan) => void;
}

/** Plans a training job: Alpa's ILP + stage DP over the model's operator graph (DESIGN.md §6). */
export async function plan(value: unknown, hooks: PlanHooks = {}): Promise<Plan> {
  const started = Date.now();
  const { request, cluster } = parsePlanRequest(value);
  const deadlineMs = hooks.deadlineMs ?? started + request.options.timeLimitSec * 1000;
  const capacityBytes = plannedCapacityBytes(request, cluster.gpu.memoryBytes);
  const solver = new LayerSolver({
    cluster,
    target: request.options.target,
    deadlineMs,
    tensorParallelPinned: request.parallel?.tp !== undefined,
    recomputeModules: recomputeModules(request),
    ...(hooks.signal ? { signal: hooks.signal } : {}),
  });
  let dpStates = 0;
  let configurationsTried = 0;
  const solverInfo = (): SolverInfo => ({
    ilpSolves: solver.ilpSolves,
    dpStates,
    configurationsTried,
    wallSec: (Date.now() - started) / 1000,
  });
  const { onBest } = hooks;
  // The final answer is usually the last best reported: assembling it again would cost as much.
  let reported = null as { candidate: Candidate; plan: Plan } | null;
  const alternatives = new AlternativesFrontier(cluster);
  const outcome = await searchPlans({
    request,
    cluster,
    solver,
    capacityBytes,
    deadlineMs,
    onCandidate: (candidate) => alternatives.add(candidate),
    scheduledSec: (candidate) => candidateScheduledSec({ request, cluster, capacityBytes }, candidate),
    ...(hooks.signal ? { signal: hooks.signal } : {}),
    ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
    ...(onBest
      ? {
          onImprovement: (best: Candidate, counts: { dpStates: number; configurationsTried: number }) => {
            ({ dpStates, configurationsTried } = counts);
            reported = {
              candidate: best,
              plan: planOf(request, cluster, best, capacityBytes, true, solverInfo()),
            };
            onBest(reported.plan);
          },
        }
      : {}),
  });
  ({ dpStates, configurationsTried } = outcome);
  if (outcome.best === null) {
    if (outcome.timedOut) {
      return unplannedPlan('timeout', timeLimitReason(request.options.timeLimitSec), solverInfo());
    }
    const reason =
      outcome.shortfallBytes !== null
        ? `no configuration fits in memory: the closest needs ${(outcome.shortfallBytes / 2 ** 30).toFixed(2)} GiB more per device than the ${(capacityBytes / 2 ** 30).toFixed(1)} GiB usable`
        : (frameworkRefusal(request.options.target, outcome) ??
          "no configuration satisfies the pinned degrees and divisibility (global batch, devices, layers, and the model's dimensions over each axis of a stage's mesh)");
    return unplannedPlan('infeasible', reason, solverInfo(), outcome.shortfallBytes);
  }
  const ctx = { request, cluster, capacityBytes };
  const target = request.options.target;
  // The frontier is assembled once, for the final answer only.
  const withAlternatives = (chosen: Candidate, answer: Plan): Plan => ({
    ...answer,
    // Each as the search priced it (its own virtual stage count): the figures the frontier compared.
    alternatives: alternatives.of(
      chosen,
      answer.summary!,
      (c) => assemble(request, cluster, c, capacityBytes, null).summary,
    ),
  });
  if (target !== 'any') return { ...withAlternatives(outcome.best, finalPlan(outcome.best)), target };
  // The best each framework can run; the plan is never slower than any of them.
  const plans = assembleFrameworks(ctx, { ...outcome, candidates: outcome.frameworks });
  const reportedSec = reported?.candidate === outcome.best ? reported.plan.summary!.stepTimeSec : null;
  const planSec = reportedSec ?? assembleCandidate(ctx, outcome.best).summary.stepTimeSec;
  const chosen = fasterFramework(plans, planSec) ?? outcome.best;
  const answer = withAlternatives(chosen, finalPlan(chosen));
  return { ...answer, frameworks: frameworkPlans(ctx, answer, plans), target };

  function finalPlan(best: Candidate): Plan {
    if (reported?.candidate === best) {
      if (outcome.timedOut) return { ...reported.plan, solver: { status: 'feasible', ...solverInfo() } };
      const { reason: _cutShort, ...answer } = reported.plan;
      return { ...answer, status: 'optimal', solver: { status: 'optimal', ...solverInfo() } };
    }
    return planOf(request, cluster, best, capacityBytes, outcome.timedOut, solverInfo());
  }
}

/**
 * Why a framework target found nothing, in its own rules' words: it cannot build the model, or it
 * refused the configurations the pins and divisibility left (the reason it gave most often). Null
 * for target `any`, or where its rules refused nothing.
 */
function frameworkRefusal(target: PlanRequest['options']['target'], outcome: SearchOutcome): string | null {
  if (target === 'any') return null;
  const { release } = FRAMEWORKS[target];
  const unbuildable = outcome.unbuildable[target];
  if (unbuildable !== undefined) return `${release} cannot build this model: ${unbuildable}`;
  const refused = outcome.refusal;
  if (refused === null) return null;
  const share =
    refused.configurations === outcome.configurationsTried
      ? `every configuration tried (${refused.configurations})`
      : `${refused.configurations} of the ${outcome.configurationsTried} configurations tried`;
  return `${release} runs none of the configurations the pinned degrees and divisibility allow: ${refused.reason} (${share})`;
}

function planOf(
  request: PlanRequest,
  cluster: Cluster,
  best: Candidate,
  capacityBytes: number,
  cutShort: boolean,
  solver: SolverInfo,
): Plan {
  const assembled = assembleCandidate({ request, cluster, capacityBytes }, best);
  const status = cutShort ? 'feasible' : 'optimal';
  return {
    status,
    ...(cutShort ? { reason: CUT_SHORT_REASON } : {}),
    summary: assembled.summary,
    breakdown: assembled.breakdown,
    stages: assembled.stages,
    schedule: assembled.schedule,
    exports: buildExports(request, assembled.summary, assembled.stages, best.model.layers),
    alternatives: onlyChosen(assembled.summary),
    solver: { status, ...solver },
    assumptions: [...ASSUMPTIONS],
  };
}
