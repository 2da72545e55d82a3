/**
 * solveIlp: validate, prune exactly, then solve with the requested backend (or, with `auto`, the exact
 * elimination DP when the graph is narrow enough, else the MILP backend that is fastest at that size).
 * Every answer is verified (solvers/verify.ts) against the reduced problem and again, after mapping the
 * choice back, against the original problem.
 *
 * The backends are synchronous once running: `signal` and the deadline are honoured between stages and by
 * the backends' own limits. To bound the wall time hard, use solveIlpIsolated (solvers/isolated.ts).
 */

import type { MilpBackendName } from './backends/backend.ts';
import { cbcAvailable } from './backends/cbc.ts';
import { milpColumnCount, solveWithMilp } from './backends/milp.ts';
import type { RootedBlock } from './blocks.ts';
import { blocksWorthSplitting, solveByBlocks } from './decompose.ts';
import { solveByElimination } from './elimination.ts';
import { SolveAbortedError, SolverBackendError, SolverVerificationError, throwIfAborted } from './errors.ts';
import { greedyIncumbent } from './incumbent.ts';
import { type Incumbent, type LagrangianBound, meetsBound } from './lagrangian.ts';
import type { BackendAnswer, BackendName, IlpProblem, IlpSolution, SolveOptions } from './problem.ts';
import { expandChoice, type PrunedProblem, pruneProblem } from './prune.ts';
import { validateProblem } from './validate.ts';
import { evaluateChoice, OBJECTIVE_RELATIVE_TOLERANCE, verifySolution } from './verify.ts';

/** Rejects as soon as `signal` aborts, even while `work` is still pending. */
function raceAbort<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new SolveAbortedError(signal.reason));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/**
 * Below this many MILP columns `auto` uses GLPK, above it HiGHS. Measured on this 2-core machine (Node 20,
 * glpk.js 5.0, highs 1.15) with randomProblem DAGs (average degree ~4, 2-6 strategies, after pruning),
 * median of 3-5 seeds, without / with a binding budget (t = 0.3):
 *   columns   GLPK                  HiGHS
 *      ~90     7 ms /   14 ms        55 ms /   94 ms
 *     ~450    10 ms /   27 ms       106 ms /   97 ms
 *    ~1700    50 ms /  150 ms       216 ms / 1051 ms
 *    ~3400   390 ms /  758 ms      1872 ms / 1791 ms
 *    ~4500   440 ms / 1458 ms       448 ms / 5332 ms
 *    ~6600  1438 ms / 3822 ms      2535 ms / 6788 ms   (one GLPK run hit its 30 s limit)
 *    ~9200  1981 ms / 8991 ms      1221 ms / 6674 ms
 *   ~13700  5014 ms / 18512 ms     1403 ms / 7067 ms
 * HiGHS pays ~50-100 ms even on tiny models (presolve, symmetry detection); GLPK's branch-and-bound falls
 * behind past ~8000 columns. Both have heavy tails on budgeted models.
 */
const MILP_CROSSOVER_COLUMNS = 8000;

/**
 * Below this many columns GLPK in-thread beats starting the cbc process (~20-40 ms for the process and its
 * files alone); above it the native branch-and-cut wins.
 */
const CBC_FROM_COLUMNS = 300;

/**
 * The MILP backend `auto` uses for a problem with this many columns in the Alpa linearisation: CBC where it
 * is installed and the model is big enough to pay for its process, else GLPK or HiGHS by size.
 */
export function milpBackendForSize(columns: number, cbcInstalled = cbcAvailable()): MilpBackendName {
  if (cbcInstalled && columns > CBC_FROM_COLUMNS) return 'cbc';
  return columns <= MILP_CROSSOVER_COLUMNS ? 'glpk' : 'highs';
}

/**
 * HiGHS and glpk overrun their own limit by ~0.3–0.6 s (measured): ask for less, so the incumbent comes back
 * before an isolated runner's kill at the deadline loses it.
 */
function milpLimitSec(remainingSec: number): number {
  return Math.max(0.1, Math.min(remainingSec - 0.6, remainingSec * 0.9));
}

/** Time the local search for a warm start may take, at most: a fraction of what the MILP then gets. */
const INCUMBENT_SHARE_OF_TIME = 0.02;

/**
 * A feasible choice for a budgeted problem to start the MILP from: the DP's Lagrangian incumbent when it
 * found one (it starts from every within-budget argmin and is never worse than the greedy one), else the
 * greedy local search (solvers/incumbent.ts); null without a budget or within no time.
 */
function warmStart(problem: IlpProblem, deadlineMs: number, bound: LagrangianBound | null): Incumbent | null {
  if (problem.memoryBudget === null) return null;
  if (bound?.incumbent) return bound.incumbent;
  const now = performance.now();
  return greedyIncumbent(problem, now + Math.max(0, deadlineMs - now) * INCUMBENT_SHARE_OF_TIME);
}

/**
 * A MILP stopped at its limit with a point that meets the Lagrangian bound has found the optimum all the
 * same: the bound proves it.
 */
function provenByBound(answer: BackendAnswer, bound: LagrangianBound | null): BackendAnswer {
  if (answer.status !== 'feasible' || answer.claimedObjective === null || bound === null) return answer;
  return meetsBound(answer.claimedObjective, bound.lowerBound) ? { ...answer, status: 'optimal' } : answer;
}

/** A MILP that stopped without a choice still leaves the warm start: answer with it, as merely feasible. */
function orIncumbent(problem: IlpProblem, answer: BackendAnswer, incumbent: Incumbent | null): BackendAnswer {
  if (answer.status !== 'timeout' || incumbent === null) return answer;
  return {
    backend: answer.backend,
    status: 'feasible',
    selection: problem.nodes.map((node, v) => node.cost.map((_, k) => (k === incumbent.choice[v] ? 1 : 0))),
    claimedObjective: incumbent.objective,
  };
}

function finish(
  original: IlpProblem,
  pruned: PrunedProblem,
  answer: BackendAnswer,
  startedMs: number,
): IlpSolution {
  const verified = verifySolution(pruned.problem, answer);
  const base = {
    status: verified.status,
    backend: answer.backend,
    wallSec: (performance.now() - startedMs) / 1000,
  };
  if (verified.choice === null) return { ...base, objective: null, choice: null };
  const choice = expandChoice(pruned, verified.choice);
  // Guards the index map of the pruning as much as the backend: the original problem must agree.
  const evaluation = evaluateChoice(original, choice);
  const scale = Math.max(1, Math.abs(evaluation.objective));
  if (
    !evaluation.feasible ||
    Math.abs(evaluation.objective - verified.objective!) > OBJECTIVE_RELATIVE_TOLERANCE * scale
  ) {
    throw new SolverVerificationError(
      answer.backend,
      'the choice mapped back to the original problem does not verify',
    );
  }
  return { ...base, objective: evaluation.objective, choice };
}

function budgetBinds(problem: IlpProblem): boolean {
  const most = problem.nodes.reduce((sum, node) => sum + Math.max(...node.memory), 0);
  return problem.memoryBudget !== null && problem.memoryBudget < most;
}

/**
 * A graph too wide for the DP as a whole, solved block by block (solvers/decompose.ts), each block by
 * `auto` (the DP where the block is narrow, a MILP where not). Null when a block was not proven in time:
 * the whole problem then goes to the MILP. Names the backend of the block with the most nodes.
 */
async function solveBlocks(
  problem: IlpProblem,
  blocks: readonly RootedBlock[],
  deadlineMs: number,
  signal: AbortSignal | undefined,
): Promise<BackendAnswer | null> {
  let backend: BackendName = 'elimination';
  let largest = 0;
  const decomposed = await solveByBlocks(problem, blocks, async (block) => {
    const timeLimitSec = (deadlineMs - performance.now()) / 1000;
    if (timeLimitSec <= 0) return { status: 'timeout', choice: null, objective: null };
    const solution = await solveIlp({ ...block, timeLimitSec }, signal ? { signal } : {});
    if (block.nodes.length > largest) {
      largest = block.nodes.length;
      backend = solution.backend;
    }
    return solution;
  });
  if (decomposed.status === 'unproven') return null;
  if (decomposed.status === 'infeasible')
    return { backend, status: 'infeasible', selection: null, claimedObjective: null };
  const choice = decomposed.choice;
  const selection = problem.nodes.map((node, v) => node.cost.map((_, k) => (k === choice[v] ? 1 : 0)));
  return { backend, status: 'optimal', selection, claimedObjective: null };
}

export async function solveIlp(problem: IlpProblem, options: SolveOptions = {}): Promise<IlpSolution> {
  const startedMs = performance.now();
  const { signal } = options;
  throwIfAborted(signal);
  validateProblem(problem);
  const deadlineMs = startedMs + problem.timeLimitSec * 1000;
  const requested = options.backend ?? 'auto';
  const start = (backend: BackendName) => options.onBackendStart?.(backend);
  const pruned = pruneProblem(problem);
  if (pruned.infeasible) {
    // Pruning proved it; name the requested backend (or the exact DP for `auto`) as the one answering.
    const backend = requested === 'auto' ? 'elimination' : requested;
    return finish(
      problem,
      pruned,
      { backend, status: 'infeasible', selection: null, claimedObjective: null },
      startedMs,
    );
  }
  let bound: LagrangianBound | null = null;
  // The DP runs alone, with no CBC process started next to it: with the Lagrangian bound it answered every
  // budgeted Alpa-form instance (20-400 ops, 4/8 strategies) in ≤ 0.3 s, and a CBC alongside on 2 cores made
  // those solves 2-6x slower (chain 400x8: 116 ms alone, 700 ms with it; dag 100x8: 128 ms, 785 ms).
  if (requested === 'elimination' || requested === 'auto') {
    start('elimination');
    const outcome = solveByElimination(pruned.problem, { deadlineMs });
    throwIfAborted(signal);
    if (outcome.applicable) return finish(problem, pruned, outcome.answer, startedMs);
    // Only a DP that declined gets here; asked for by name, elimination has no fallback.
    if (requested === 'elimination')
      throw new SolverBackendError('elimination', `not applicable: ${outcome.reason}`);
    bound = outcome.bound;
    // Measured on cliques of 10 ops x 4 strategies joined at articulation points, no budget, against CBC on
    // the whole (what auto would run): 2 blocks 1.9 s vs 4.2 s and 6.2 s vs 5.3 s (two seeds), 3 blocks
    // 6.6 s vs 15.8 s, 4 blocks 15.8 s (GLPK on the whole was stopped unfinished after ~2 min).
    const blocks =
      requested === 'auto' && !budgetBinds(pruned.problem) ? blocksWorthSplitting(pruned.problem) : null;
    if (blocks !== null) {
      const answer = await solveBlocks(pruned.problem, blocks, deadlineMs, signal);
      throwIfAborted(signal);
      if (answer !== null) return finish(problem, pruned, answer, startedMs);
    }
  }
  const backend = requested === 'auto' ? milpBackendForSize(milpColumnCount(pruned.problem)) : requested;
  const remainingSec = (deadlineMs - performance.now()) / 1000;
  if (remainingSec <= 0) {
    return finish(
      problem,
      pruned,
      { backend, status: 'timeout', selection: null, claimedObjective: null },
      startedMs,
    );
  }
  start(backend);
  // A backend asked for by name answers alone; `auto` adds the warm start and falls back on it.
  const incumbent = requested === 'auto' ? warmStart(pruned.problem, deadlineMs, bound) : null;
  const milp = solveWithMilp(pruned.problem, backend, milpLimitSec(remainingSec), {
    ...(signal ? { signal } : {}),
    ...(incumbent ? { startChoice: incumbent.choice } : {}),
  });
  const answer = provenByBound(orIncumbent(pruned.problem, await raceAbort(milp, signal), incumbent), bound);
  throwIfAborted(signal);
  return finish(problem, pruned, answer, startedMs);
}
