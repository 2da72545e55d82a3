/**
 * What one request may ask of the server: the API's configuration (env `MESHPLAN_*`, documented in the
 * README), checked after the schema and before anything is queued or priced, each breach a 400 naming
 * its field. The schemas keep their own, looser bounds: those describe what is meaningful, these what
 * this deployment is willing to spend on one caller.
 */
import { z } from 'zod';
import { admitModel, admitPlanRequest } from '../queue/admission.ts';
import { type InputIssue, InvalidInputError } from '../schema/errors.ts';
import { PlanRequest, type SweepRequest } from '../schema/index.ts';
import { MAX_SWEEP_POINTS } from '../sweep/grid.ts';
import { withPath } from '../sweep/paths.ts';

const count = z.coerce.number().int().nonnegative();

export const Limits = z
  .object({
    /** Largest request body, bytes. */
    bodyBytes: count.min(1024).default(8 * 2 ** 20),
    /** Ops in a `graph` model. */
    graphOps: count.min(1).default(10_000),
    /** Tensors in a `graph` model. */
    graphTensors: count.min(1).default(20_000),
    /**
     * Layers of a `transformer` model. An estimate is priced on the API's own thread (about 0.8 ms per
     * layer and pipeline stage here), so this bounds how long one request can hold it.
     */
    modelLayers: count.min(1).default(512),
    /** Points of one sweep (the product of its grid's lengths); the queue never takes more than 10,000. */
    sweepPoints: count.min(1).max(MAX_SWEEP_POINTS).default(MAX_SWEEP_POINTS),
    /** Longest `?wait` of a plan submission, seconds. */
    waitSec: count.default(60),
    /** Devices of a cluster: nodes × gpusPerNode. */
    clusterGpus: count.min(1).default(131_072),
    /** Requests per API key per window on a server with keys; 0 turns the limit off. */
    rateLimitMax: count.default(1200),
    /**
     * Requests per client address per window on a server without keys; 0 (the default): no limit. An
     * open server is usually one user's own, on loopback, whose sweep script must not meet a 429; a
     * shared open server sets one.
     */
    rateLimitOpenMax: count.default(0),
    rateLimitWindowSec: count.min(1).default(60),
  })
  .strict();
export type Limits = z.infer<typeof Limits>;

export const DEFAULT_LIMITS: Limits = Limits.parse({});

/** The environment variable of each limit. */
export const LIMIT_ENV: Readonly<Record<keyof Limits, string>> = {
  bodyBytes: 'MESHPLAN_MAX_BODY_BYTES',
  graphOps: 'MESHPLAN_MAX_GRAPH_OPS',
  graphTensors: 'MESHPLAN_MAX_GRAPH_TENSORS',
  modelLayers: 'MESHPLAN_MAX_MODEL_LAYERS',
  sweepPoints: 'MESHPLAN_MAX_SWEEP_POINTS',
  waitSec: 'MESHPLAN_MAX_WAIT_SEC',
  clusterGpus: 'MESHPLAN_MAX_CLUSTER_GPUS',
  rateLimitMax: 'MESHPLAN_RATE_LIMIT_MAX',
  rateLimitOpenMax: 'MESHPLAN_RATE_LIMIT_OPEN_MAX',
  rateLimitWindowSec: 'MESHPLAN_RATE_LIMIT_WINDOW_SEC',
};

/** Limits from `MESHPLAN_*` variables; unset or blank ones keep their default, bad ones name the variable. */
export function limitsFromEnv(env: Readonly<Record<string, string | undefined>>): Limits {
  const raw: Record<string, string> = {};
  for (const [field, name] of Object.entries(LIMIT_ENV)) {
    const value = env[name]?.trim();
    if (value) raw[field] = value;
  }
  const parsed = Limits.safeParse(raw);
  if (parsed.success) return parsed.data;
  throw new InvalidInputError(
    parsed.error.issues.map((issue) => ({
      path: LIMIT_ENV[issue.path[0] as keyof Limits] ?? String(issue.path[0]),
      message: issue.message,
    })),
    'environment',
  );
}

function planIssues(request: PlanRequest, limits: Limits, prefix: string): InputIssue[] {
  const issues: InputIssue[] = [];
  const gpus = request.cluster.nodes * request.cluster.gpusPerNode;
  if (gpus > limits.clusterGpus) {
    issues.push({
      path: `${prefix}cluster`,
      message: `nodes × gpusPerNode is ${gpus} GPUs; this server plans at most ${limits.clusterGpus}`,
    });
  }
  if (request.model.kind === 'transformer' && request.model.layers > limits.modelLayers) {
    issues.push({
      path: `${prefix}model.layers`,
      message: `${request.model.layers} layers; this server takes at most ${limits.modelLayers}`,
    });
  }
  if (request.model.kind === 'graph') {
    const { ops, tensors } = request.model.graph;
    if (ops.length > limits.graphOps) {
      issues.push({
        path: `${prefix}model.graph.ops`,
        message: `${ops.length} ops; this server takes at most ${limits.graphOps}`,
      });
    }
    if (tensors.length > limits.graphTensors) {
      issues.push({
        path: `${prefix}model.graph.tensors`,
        message: `${tensors.length} tensors; this server takes at most ${limits.graphTensors}`,
      });
    }
  }
  return issues;
}

/**
 * A request the limits allow and the queue admits (a known GPU; a `graph` model that is a graph):
 * such faults are a 400 now rather than a failed job later. The limits come first, so an oversized
 * graph is refused before it is built.
 */
export function checkPlanRequest(request: PlanRequest, limits: Limits): void {
  const issues = planIssues(request, limits, '');
  if (issues.length > 0) throw new InvalidInputError(issues, 'request');
  admitPlanRequest(request);
}

/**
 * The sweep's size, its base, and each grid value that replaces part of the model or cluster. Every
 * point is validated as a whole by the queue; the limits are checked here on each value alone (a sum of
 * the grid's lengths, not their product) and, for the cluster size, on the largest node and GPU counts
 * the grid offers together.
 */
export function checkSweepRequest(sweep: SweepRequest, limits: Limits): void {
  const points = Object.values(sweep.grid).reduce((n, values) => n * values.length, 1);
  if (points > limits.sweepPoints) {
    throw new InvalidInputError(
      [
        {
          path: 'grid',
          message: `the grid has ${points} points; this server takes at most ${limits.sweepPoints}`,
        },
      ],
      'sweep',
    );
  }
  // The base alone: its limits and model (a grid may still replace its cluster).
  const baseIssues = planIssues(sweep.base, limits, 'base.');
  if (baseIssues.length > 0) throw new InvalidInputError(baseIssues, 'request');
  try {
    admitModel(sweep.base);
  } catch (error) {
    throw error instanceof InvalidInputError ? error.under('base') : error;
  }
  const largest = (path: string, base: number): number =>
    Math.max(base, ...(sweep.grid[path] ?? []).filter((v): v is number => typeof v === 'number'));
  const gpus =
    largest('cluster.nodes', sweep.base.cluster.nodes) *
    largest('cluster.gpusPerNode', sweep.base.cluster.gpusPerNode);
  if (gpus > limits.clusterGpus) {
    const path = sweep.grid['cluster.nodes'] ? 'grid.cluster.nodes' : 'grid.cluster.gpusPerNode';
    const message = `points reach ${gpus} GPUs (nodes × gpusPerNode); this server plans at most ${limits.clusterGpus}`;
    throw new InvalidInputError([{ path, message }], 'sweep');
  }
  for (const [path, values] of Object.entries(sweep.grid)) {
    if (!/^(model|cluster)(\.|$)/.test(path)) continue;
    for (const value of values) {
      const point = PlanRequest.safeParse(withPath(sweep.base, path, value));
      // An invalid point is the queue's to report, with the sweep's other issues.
      if (!point.success) continue;
      const issues = planIssues(point.data, limits, '');
      if (issues.length > 0) {
        const message = `${issues[0]!.path}: ${issues[0]!.message}`;
        throw new InvalidInputError([{ path: `grid.${path}`, message }], 'sweep');
      }
    }
  }
}

/** The `?wait` of a submission, within the limit. */
export function checkWait(waitSec: number | undefined, limits: Limits): number {
  if (waitSec !== undefined && waitSec > limits.waitSec) {
    throw new InvalidInputError(
      [{ path: 'wait', message: `at most ${limits.waitSec} seconds on this server` }],
      'query string',
    );
  }
  return waitSec ?? 0;
}
