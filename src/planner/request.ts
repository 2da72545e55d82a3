/**
 * Validation of a plan request, apart from the planner: callers that only check a request (the CLI
 * before it hands the request to a planning thread, the API at submit) need not load the solvers.
 */
import type { Cluster } from '../cluster/cluster.ts';
import { parseCluster } from '../cluster/index.ts';
import { parseOrThrow } from '../schema/errors.ts';
import { PlanRequest } from '../schema/index.ts';

export function parsePlanRequest(value: unknown): { request: PlanRequest; cluster: Cluster } {
  const request = parseOrThrow(PlanRequest, value, 'request');
  return { request, cluster: requestCluster(request) };
}

/** The cluster of an already validated request; an unknown GPU is an error at `cluster.gpu`. */
export function requestCluster(request: PlanRequest): Cluster {
  try {
    return parseCluster(request.cluster);
  } catch (error) {
    throw prefixIssues(error, 'cluster');
  }
}

function prefixIssues(error: unknown, prefix: string): unknown {
  if (error instanceof Error && 'issues' in error && Array.isArray((error as { issues: unknown }).issues)) {
    const e = error as Error & { issues: { path: string; message: string }[] };
    for (const issue of e.issues) issue.path = issue.path ? `${prefix}.${issue.path}` : prefix;
  }
  return error;
}
