/**
 * Sweeps (DESIGN.md §7): a grid of dotted request paths (`cluster.nodes`, `parallel.tp` …) to values,
 * expanded as a cartesian product over a base request. Every point is validated before any job is
 * queued, so a bad grid is one 400 naming `grid.<path>`, not a sweep of failed jobs.
 */
import { parsePlanRequest } from '../planner/request.ts';
import { type InputIssue, InvalidInputError } from '../schema/errors.ts';
import type { JobStatus, Plan, PlanRequest, Sweep, SweepRequest, SweepRow } from '../schema/index.ts';
import { JobStatus as JobStatusSchema } from '../schema/index.ts';

export const MAX_SWEEP_POINTS = 10_000;

/** Distinct issues reported for a bad grid: every point may fail the same way. */
const MAX_ISSUES = 20;

/** Path segments that would reach an object's prototype rather than a request field. */
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'prototype', 'constructor']);

export type SweepPointValues = Record<string, unknown>;

export interface SweepPoint {
  /** The grid path → value of this point. */
  readonly point: SweepPointValues;
  readonly request: PlanRequest;
}

/** One sweep point's job as getSweep needs it: the plan's status and summary, when it succeeded. */
export interface PointJob {
  readonly status: JobStatus;
  readonly plan: Pick<Plan, 'status' | 'summary'> | null;
}

export function expandSweep(sweep: SweepRequest): SweepPoint[] {
  const paths = Object.keys(sweep.grid);
  const pathIssues = paths.flatMap(checkPath);
  if (pathIssues.length > 0) throw new InvalidInputError(pathIssues, 'sweep');
  const size = paths.reduce((n, path) => n * sweep.grid[path]!.length, 1);
  if (size > MAX_SWEEP_POINTS) {
    throw new InvalidInputError(
      [{ path: 'grid', message: `the grid has ${size} points; at most ${MAX_SWEEP_POINTS} are allowed` }],
      'sweep',
    );
  }
  const points: SweepPoint[] = [];
  const issues = new Map<string, InputIssue>();
  for (const point of cartesian(sweep.grid, paths)) {
    try {
      points.push({ point, request: pointRequest(sweep.base, point) });
    } catch (error) {
      if (!(error instanceof InvalidInputError)) throw error;
      for (const issue of error.issues) {
        const located = locate(issue, point);
        if (issues.size < MAX_ISSUES) issues.set(`${located.path}\n${located.message}`, located);
      }
    }
  }
  if (issues.size > 0) throw new InvalidInputError([...issues.values()], 'sweep');
  return points;
}

function checkPath(path: string): InputIssue[] {
  const segments = path.split('.');
  if (segments.some((segment) => segment === '' || FORBIDDEN_SEGMENTS.has(segment))) {
    return [
      { path: `grid.${path}`, message: 'expected a dotted path to a request field, e.g. cluster.nodes' },
    ];
  }
  return [];
}

/** Points in odometer order, the last grid path varying fastest; an empty grid is the base alone. */
function* cartesian(grid: SweepRequest['grid'], paths: readonly string[]): Generator<SweepPointValues> {
  const index = paths.map(() => 0);
  for (;;) {
    yield Object.fromEntries(paths.map((path, i) => [path, grid[path]![index[i]!]]));
    let axis = paths.length - 1;
    while (axis >= 0 && ++index[axis]! === grid[paths[axis]!]!.length) index[axis--] = 0;
    if (axis < 0) return;
  }
}

/** The base request with this point's values set, validated as a whole (schema and cluster). */
function pointRequest(base: PlanRequest, point: SweepPointValues): PlanRequest {
  const request: Record<string, unknown> = structuredClone(base);
  for (const [path, value] of Object.entries(point)) setPath(request, path, value);
  return parsePlanRequest(request).request;
}

function setPath(root: Record<string, unknown>, path: string, value: unknown): void {
  const segments = path.split('.');
  let cursor = root;
  for (const [depth, segment] of segments.slice(0, -1).entries()) {
    const next = Object.hasOwn(cursor, segment) ? cursor[segment] : undefined;
    if (next === undefined) {
      cursor[segment] = {};
    } else if (next === null || typeof next !== 'object' || Array.isArray(next)) {
      const prefix = segments.slice(0, depth + 1).join('.');
      throw new InvalidInputError([{ path, message: `${prefix} is not an object in the base request` }]);
    }
    cursor = cursor[segment] as Record<string, unknown>;
  }
  cursor[segments.at(-1)!] = value;
}

/**
 * Names the grid path an issue comes from (`grid.cluster.nodes`), with the offending value; an issue
 * that no single path explains (a cross-field rule) names the whole point.
 */
function locate(issue: InputIssue, point: SweepPointValues): InputIssue {
  const path = Object.keys(point).find(
    (p) => issue.path === p || issue.path.startsWith(`${p}.`) || p.startsWith(`${issue.path}.`),
  );
  if (path !== undefined) {
    return { path: `grid.${path}`, message: `${issue.message} (value ${JSON.stringify(point[path])})` };
  }
  return {
    path: 'grid',
    message: `at ${JSON.stringify(point)}: ${issue.path || '(root)'}: ${issue.message}`,
  };
}

export function sweepRow(jobId: string, point: SweepPointValues, job: PointJob): SweepRow {
  const summary = job.status === 'succeeded' ? (job.plan?.summary ?? null) : null;
  return {
    jobId,
    point,
    status: job.status,
    planStatus: job.status === 'succeeded' ? (job.plan?.status ?? null) : null,
    stepTimeSec: summary?.stepTimeSec ?? null,
    tokensPerSec: summary?.tokensPerSec ?? null,
    tflopsPerDevice: summary?.tflopsPerDevice ?? null,
    mfu: summary?.mfu ?? null,
    peakMemoryBytes: summary?.peakMemoryBytes ?? null,
    dp: summary?.dp ?? null,
    tp: summary?.tp ?? null,
    pp: summary?.pp ?? null,
  };
}

export function sweepOf(id: string, rows: SweepRow[]): Sweep {
  const counts = Object.fromEntries(JobStatusSchema.options.map((status) => [status, 0])) as Record<
    JobStatus,
    number
  >;
  for (const row of rows) counts[row.status] += 1;
  return { id, points: rows.length, counts, rows };
}
