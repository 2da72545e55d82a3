/**
 * solveStageDp: Alpa's stage construction (OSDI'22 §5, Eq. 3–5) as a pure function.
 *
 * Objective of stages 0..S-1 (stage 0 holds layer 0), for 1F1B:
 *   T = Σ_i latency_i + (B − 1) · max_i latency_i + onceSec of stage 0.
 * Overlap assumption: stage 0 finishes its last backward pass last, so only its once-cost (exposed gradient
 * sync, optimizer step) lengthens the step; the later stages finish earlier and pay theirs meanwhile.
 *
 * As in Alpa, a DP run for a bound t_max (stage-dp-kernel.ts) finds the least Σ latency + once_0 over the
 * solutions whose stages all take ≤ t_max, and T is evaluated with that solution's actual max latency. Every
 * solution's max is one of the options' latencies, so runs at all of them find the optimum. Alpa tries them
 * upward until B·t_max ≥ best; this tries far fewer, exactly (stage-dp-search.ts: best-first bisection with
 * lower bounds, and Σ budgets that prune each run), and each run costs less (stage-dp-admit.ts: only entries
 * within t_max, suffix states over the budget dropped; stage-dp-rows.ts: the stage-count dimension only where
 * a memory rule binds). Options dominated within their cell are dropped first (stage-dp-table.ts).
 *
 * Latencies within CANDIDATE_MERGE_RELATIVE of each other (float noise between equal latencies) share one run
 * whose bound is the largest of them. Alpa skips candidates closer than a gap to the previous one, which can
 * miss solutions; a merged run admits them all and at worst reports a max up to that relative width above the
 * best one, i.e. T within (B − 1)·1e-12 relative.
 */
import { throwIfAborted } from './errors.ts';
import { runStageDp, StageDpWorkspace } from './stage-dp-kernel.ts';
import type { StageAssignment, StageDpOptions, StageDpProblem, StageDpResult } from './stage-dp-problem.ts';
import { candidateGroups, type Probe, searchCandidates } from './stage-dp-search.ts';
import { buildStageTable, type StageTable } from './stage-dp-table.ts';

export type {
  StageAssignment,
  StageDpOptions,
  StageDpProblem,
  StageDpResult,
  StageOption,
} from './stage-dp-problem.ts';

const CANDIDATE_MERGE_RELATIVE = 1e-12;

interface Evaluated {
  readonly stepSec: number;
  readonly maxLatencySec: number;
  readonly stages: readonly StageAssignment[];
}

function evaluate(problem: StageDpProblem, table: StageTable, entries: readonly number[]): Evaluated {
  let sum = 0;
  let max = 0;
  let first = 0;
  const stages = entries.map((e) => {
    const latencySec = table.latencySec[e]!;
    sum += latencySec;
    if (latencySec > max) max = latencySec;
    const last = table.next[e]! - 1;
    const submesh = table.submesh[table.source[e]!]!;
    const option = table.option[table.source[e]!]!;
    const tag = problem.options[first]![last - first]![submesh]![option]!.tag;
    const stage = { first, last, submesh, option, tag, latencySec };
    first = table.next[e]!;
    return stage;
  });
  const stepSec = sum + (problem.microbatches - 1) * max + table.onceSec[table.source[entries[0]!]!]!;
  return { stepSec, maxLatencySec: max, stages };
}

export function solveStageDp(problem: StageDpProblem, options: StageDpOptions = {}): StageDpResult {
  const { signal, exhaustiveTmax = false } = options;
  const deadlineMs = options.deadlineMs ?? Number.POSITIVE_INFINITY;
  throwIfAborted(signal);
  const table = buildStageTable(problem, !exhaustiveTmax);
  const B = problem.microbatches;
  const ws = new StageDpWorkspace(table);
  const search = { tried: 0, dpStates: 0, timedOut: false, best: null as Evaluated | null };
  /** Runs the bounded DP and keeps its solution if it is the best so far. */
  const probe: Probe = (tMaxSec, sumBudget) => {
    const run = runStageDp(ws, tMaxSec, sumBudget);
    search.tried++;
    search.dpStates += run.states;
    if (run.entries.length === 0) return null;
    const found = evaluate(problem, table, run.entries);
    if (search.best === null || found.stepSec < search.best.stepSec) search.best = found;
    return { leastSum: run.value, maxLatencySec: found.maxLatencySec };
  };
  /** Between runs: an abort throws; a passed deadline ends the search with what it has. */
  const outOfTime = (): boolean => {
    throwIfAborted(signal);
    search.timedOut = performance.now() > deadlineMs;
    return search.timedOut;
  };

  const groups = () =>
    candidateGroups(table.distinctLatencies, exhaustiveTmax ? 0 : CANDIDATE_MERGE_RELATIVE);
  if (exhaustiveTmax) {
    for (const t of groups().highest) {
      if (outOfTime()) break;
      probe(t, Number.POSITIVE_INFINITY);
    }
  } else {
    searchCandidates({
      groups: groups(),
      microbatches: B,
      bestStepSec: () => search.best?.stepSec ?? Number.POSITIVE_INFINITY,
      probe,
      outOfTime,
    });
  }
  throwIfAborted(signal);
  const stats = { tMaxCandidatesTried: search.tried, dpStates: search.dpStates };
  if (search.best !== null)
    return { status: search.timedOut ? 'feasible' : 'optimal', ...search.best, ...stats };
  if (search.timedOut) return { status: 'timeout', ...stats };
  return {
    status: 'infeasible',
    reason: 'no cut into stages covers the layers, uses exactly totalDevices and fits every stage in memory',
    ...stats,
  };
}
