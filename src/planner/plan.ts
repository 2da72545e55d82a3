import type { Cluster } from '../cluster/cluster.ts';
import { parseCluster } from '../cluster/index.ts';
import { parseOrThrow } from '../schema/errors.ts';
import { type Plan, PlanRequest } from '../schema/index.ts';
import { assemble } from './assemble.ts';
import { buildExports } from './exports/index.ts';
import { LayerSolver } from './layer-solver.ts';
import { type SearchProgress, searchPlans } from './search.ts';

export interface PlanHooks {
  readonly onProgress?: (progress: SearchProgress) => void;
  readonly signal?: AbortSignal;
}

/** The named modelling assumptions every plan states (DESIGN.md §4: overlap is a named term). */
export const ASSUMPTIONS: readonly string[] = [
  'Costs are analytic: roofline compute at the GPU catalog peak × efficiency, ring collectives α + β·bytes per mesh axis.',
  'Tensor-parallel collectives and resharding sit on the critical path (no overlap).',
  'Only the first stage’s data-parallel gradient reduction and optimizer step are exposed; later stages finish theirs while it runs its last backward passes.',
  'Pipeline sends are on the critical path once per microbatch and stage boundary (scatter/gather over the stage devices).',
  'Adam with mixed precision keeps 16 bytes per parameter (2 weight + 2 gradient + 12 fp32 state), ZeRO sharding the later terms.',
  'Identical layers use one intra-op layout; the layout is optimised without recomputation and priced under the chosen mode.',
];

export function parsePlanRequest(value: unknown): { request: PlanRequest; cluster: Cluster } {
  const request = parseOrThrow(PlanRequest, value, 'request');
  let cluster: Cluster;
  try {
    cluster = parseCluster(request.cluster);
  } catch (error) {
    throw prefixIssues(error, 'cluster');
  }
  return { request, cluster };
}

function prefixIssues(error: unknown, prefix: string): unknown {
  if (error instanceof Error && 'issues' in error && Array.isArray((error as { issues: unknown }).issues)) {
    const e = error as Error & { issues: { path: string; message: string }[] };
    for (const issue of e.issues) issue.path = issue.path ? `${prefix}.${issue.path}` : prefix;
  }
  return error;
}

/** Plans a training job: Alpa's ILP + stage DP over the model's operator graph (DESIGN.md §6). */
export async function plan(value: unknown, hooks: PlanHooks = {}): Promise<Plan> {
  const started = Date.now();
  const { request, cluster } = parsePlanRequest(value);
  const deadlineMs = started + request.options.timeLimitSec * 1000;
  const capacityBytes = cluster.gpu.memoryBytes * request.options.memoryHeadroom;
  const solver = new LayerSolver({
    cluster,
    deadlineMs,
    tensorParallelPinned: request.parallel?.tp !== undefined,
    ...(hooks.signal ? { signal: hooks.signal } : {}),
  });
  const outcome = await searchPlans({
    request,
    cluster,
    solver,
    capacityBytes,
    deadlineMs,
    ...(hooks.signal ? { signal: hooks.signal } : {}),
    ...(hooks.onProgress ? { onProgress: hooks.onProgress } : {}),
  });
  const solverInfo = {
    ilpSolves: solver.ilpSolves,
    dpStates: outcome.dpStates,
    configurationsTried: outcome.configurationsTried,
    wallSec: (Date.now() - started) / 1000,
  };
  if (outcome.best === null) {
    const status = outcome.timedOut ? 'timeout' : 'infeasible';
    const reason = outcome.timedOut
      ? `no configuration was planned within the time limit (${request.options.timeLimitSec} s)`
      : outcome.shortfallBytes !== null
        ? `no configuration fits in memory: the closest needs ${(outcome.shortfallBytes / 2 ** 30).toFixed(2)} GiB more per device than the ${(capacityBytes / 2 ** 30).toFixed(1)} GiB usable`
        : 'no configuration satisfies the pinned degrees and divisibility (global batch, devices, layers)';
    return {
      status,
      reason,
      ...(outcome.shortfallBytes !== null ? { shortfallBytes: outcome.shortfallBytes } : {}),
      summary: null,
      breakdown: null,
      stages: [],
      schedule: null,
      exports: null,
      solver: { status, ...solverInfo },
      assumptions: [...ASSUMPTIONS],
    };
  }
  const assembled = assemble(request, cluster, outcome.best, capacityBytes, true);
  const status = outcome.timedOut ? 'feasible' : 'optimal';
  return {
    status,
    ...(outcome.timedOut
      ? { reason: 'the time limit stopped the search early; this is the best plan found' }
      : {}),
    summary: assembled.summary,
    breakdown: assembled.breakdown,
    stages: assembled.stages,
    schedule: assembled.schedule,
    exports: buildExports(request, assembled.summary, assembled.stages, outcome.best.model.layers),
    solver: { status, ...solverInfo, wallSec: (Date.now() - started) / 1000 },
    assumptions: [...ASSUMPTIONS],
  };
}
