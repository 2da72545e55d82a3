/**
 * Sweeps (DESIGN.md §7): a grid of dotted request paths (`cluster.nodes`, `parallel.tp` …) to values,
 * expanded as a cartesian product over a base request. Every point is validated before any job is
 * queued, so a bad grid is one 400 naming `grid.<path>`, not a sweep of failed jobs.
 */
import { type InputIssue, InvalidInputError } from '../schema/errors.ts';
import type { PlanRequest, SweepRequest } from '../schema/index.ts';
import { pathProblem, setAtPath } from './paths.ts';

export const MAX_SWEEP_POINTS = 10_000;

/** Distinct issues reported for a bad grid: every point may fail the same way. */
const MAX_ISSUES = 20;

export type SweepPointValues = Record<string, unknown>;

export interface SweepPoint {
  /** The grid path → value of this point. */
  readonly point: SweepPointValues;
  readonly request: PlanRequest;
}

/**
 * Validates a whole point (schema, cluster, graph): the job queue passes the planner's own check, so
 * a point is refused here for exactly what would fail its job.
 */
export type PointValidator = (value: unknown) => PlanRequest;

export function expandSweep(sweep: SweepRequest, validate: PointValidator): SweepPoint[] {
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
      points.push({ point, request: pointRequest(sweep.base, point, validate) });
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
  const problem = pathProblem(path);
  return problem === null ? [] : [{ path: `grid.${path}`, message: problem }];
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

/** The base request with this point's values set, validated as a whole. */
function pointRequest(base: PlanRequest, point: SweepPointValues, validate: PointValidator): PlanRequest {
  const request: Record<string, unknown> = structuredClone(base);
  for (const [path, value] of Object.entries(point)) {
    const problem = setAtPath(request, path, value);
    if (problem !== null) throw new InvalidInputError([{ path, message: problem }]);
  }
  return validate(request);
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
