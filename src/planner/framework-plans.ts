/**
 * The answer's framework side (DESIGN.md §8, §9): each candidate assembled as the framework it was
 * found for runs it (its interleaving rules), and with target `any` the best plan each framework can
 * run, with how much slower it is than the plan.
 */
import type { Cluster } from '../cluster/cluster.ts';
import { buildExport, FRAMEWORKS } from '../frameworks/index.ts';
import { precisionOptions, resolveDims } from '../model/dims.ts';
import type { FrameworkName, Frameworks, Plan, PlanRequest } from '../schema/index.ts';
import { type Assembled, assemble, scheduledStepSec } from './assemble.ts';
import { candidateShape } from './goals.ts';
import type { Candidate } from './search.ts';

export interface PlanContext {
  readonly request: PlanRequest;
  readonly cluster: Cluster;
  readonly capacityBytes: number;
}

/** The virtual stage counts a candidate's framework (if any) runs it with. */
function interleavingAllowed(ctx: PlanContext, candidate: Candidate): (virtualStages: number) => boolean {
  const { request, cluster } = ctx;
  const goal = candidate.goal;
  const framework = goal === 'any' ? null : FRAMEWORKS[goal];
  if (framework === null || framework.anyLayout) return () => true;
  const dims =
    request.model.kind === 'transformer'
      ? resolveDims(request.model, {
          microBatch: candidate.config.microBatch,
          ...precisionOptions(request.training),
        })
      : null;
  return (v: number) =>
    framework.runs(candidateShape({ request, dims, devices: cluster.devices }, candidate, v)).ok;
}

/** Assembles a candidate, picking interleaving only as its framework (if any) can run it. */
export function assembleCandidate(ctx: PlanContext, candidate: Candidate): Assembled {
  return assemble(
    ctx.request,
    ctx.cluster,
    candidate,
    ctx.capacityBytes,
    interleavingAllowed(ctx, candidate),
  );
}

/** The candidate's step time with the schedule its framework would run (see scheduledStepSec). */
export function candidateScheduledSec(ctx: PlanContext, candidate: Candidate): number {
  return scheduledStepSec(ctx.cluster, candidate, ctx.capacityBytes, interleavingAllowed(ctx, candidate));
}

export interface FrameworkSearch {
  readonly candidates: Partial<Record<FrameworkName, Candidate>>;
  readonly unbuildable: Partial<Record<FrameworkName, string>>;
  readonly timedOut: boolean;
}

/** One searched framework's best plan, assembled with its export, or why it has none. */
export type FrameworkPlan =
  | { readonly candidate: Candidate; readonly assembled: Assembled }
  | { readonly reason: string };

type SearchedName = Exclude<FrameworkName, 'jax'>;

/** Each searched framework's best candidate, assembled as it runs it. */
export function assembleFrameworks(
  ctx: PlanContext,
  search: FrameworkSearch,
): Record<SearchedName, FrameworkPlan> {
  const entry = (name: SearchedName): FrameworkPlan => {
    const candidate = search.candidates[name];
    if (candidate !== undefined) return { candidate, assembled: assembleCandidate(ctx, candidate) };
    return {
      reason:
        search.unbuildable[name] ??
        (search.timedOut
          ? `the time limit ran out before a plan ${FRAMEWORKS[name].release} can run was found`
          : `no configuration ${FRAMEWORKS[name].release} can run fits in memory on this cluster`),
    };
  };
  return { megatron: entry('megatron'), torchtitan: entry('torchtitan'), deepspeed: entry('deepspeed') };
}

/** The fastest of the searched frameworks' plans, when one beats `stepSec`. */
export function fasterFramework(
  plans: Record<SearchedName, FrameworkPlan>,
  stepSec: number,
): Candidate | null {
  let best: { candidate: Candidate; sec: number } | null = null;
  for (const plan of Object.values(plans)) {
    if (!('candidate' in plan)) continue;
    const sec = plan.assembled.summary.stepTimeSec;
    if (sec < (best?.sec ?? stepSec)) best = { candidate: plan.candidate, sec };
  }
  return best?.candidate ?? null;
}

/**
 * Each framework's best plan next to the plan (which has a summary and exports); JAX runs the plan
 * itself whenever its export is expressible.
 */
export function frameworkPlans(
  ctx: PlanContext,
  plan: Plan,
  plans: Record<SearchedName, FrameworkPlan>,
): Frameworks {
  const planSec = plan.summary!.stepTimeSec;
  const entry = <F extends SearchedName>(name: F): Frameworks[F] => {
    const found = plans[name];
    if (!('candidate' in found)) return { available: false, reason: found.reason };
    const { summary, stages } = found.assembled;
    const exports = buildExport(name, ctx.request, summary, stages, found.candidate.model.layers);
    const best = {
      available: true,
      stepTimeSec: summary.stepTimeSec,
      slowdown: summary.stepTimeSec / planSec,
      summary,
      exports,
    };
    // Frameworks[F]'s available branch is exactly this shape with F's export.
    return best as Frameworks[F];
  };
  return {
    megatron: entry('megatron'),
    torchtitan: entry('torchtitan'),
    deepspeed: entry('deepspeed'),
    jax: plan.exports!.jax.expressible
      ? {
          available: true,
          stepTimeSec: planSec,
          slowdown: 1,
          summary: plan.summary!,
          exports: plan.exports!.jax,
        }
      : {
          available: false,
          reason: `the plan is not expressible in JAX (${plan.exports!.jax.notes[0] ?? 'see its export'}); plan with target jax for one that is`,
        },
  };
}
