/**
 * Lagrangian relaxation of the memory budget. For a multiplier λ ≥ 0, every choice within the budget B
 * costs at least L(λ) − λ·B, where L(λ) = min Σ cost + λ·Σ memory over all choices (min-sum.ts, exact and
 * cheap wherever the graph is narrow enough to eliminate). The best such bound is found by cutting-plane
 * search on this concave, piecewise-linear function of λ: the next λ is where the lines of the last
 * over-budget and the last within-budget argmin cross, until no argmin lies below them. Every argmin that
 * fits the budget is an incumbent; when the best incumbent meets the bound, the budgeted problem is solved
 * without its frontiers.
 */
import type { EliminationStep } from './elimination-steps.ts';
import { greedyIncumbent } from './incumbent.ts';
import { minSum } from './min-sum.ts';
import type { IlpProblem } from './problem.ts';
import { evaluateChoice } from './verify.ts';

/** Relative gap under which the incumbent counts as proven optimal by the bound. */
export const PROOF_RELATIVE_GAP = 1e-9;
/** Iterations of each search at most; on the Alpa-form family it takes at most 10 evaluations of L(λ) in all. */
const MAX_ITERATIONS = 60;

export interface Incumbent {
  readonly choice: readonly number[];
  readonly objective: number;
}

export interface LagrangianBound {
  /** The multiplier of the best bound. */
  readonly lambda: number;
  /** A lower bound on the budgeted optimum (−Infinity when none was found). */
  readonly lowerBound: number;
  /** The best choice found that fits the budget, or null. */
  readonly incumbent: Incumbent | null;
  /** Whether the incumbent is proven optimal (it meets the bound). */
  readonly proven: boolean;
  /**
   * The min-sum tables at `lambda` (min-sum.ts) for pruning the budgeted DP: per factor id the inside
   * minima, per elimination step the outside minima. Null when the incumbent is proven (nothing to prune).
   */
  readonly tables: {
    readonly inside: readonly Float64Array[];
    readonly outside: readonly Float64Array[];
  } | null;
}

interface Line {
  readonly cost: number;
  readonly memory: number;
  readonly choice: readonly number[];
}

export function meetsBound(objective: number, lowerBound: number): boolean {
  const scale = Math.max(Math.abs(objective), Math.abs(lowerBound));
  return objective <= lowerBound + PROOF_RELATIVE_GAP * scale;
}

/**
 * The best Lagrangian bound for `problem`'s budget (which must be set) over the elimination `steps`, its
 * incumbent improved by single-node moves, and the min-sum tables at the best multiplier. Returns null
 * when no choice has a finite cost.
 */
export function lagrangianBound(
  problem: IlpProblem,
  steps: readonly EliminationStep[],
  deadlineMs = Number.POSITIVE_INFINITY,
): LagrangianBound | null {
  const budget = problem.memoryBudget!;
  let best = { lambda: 0, lowerBound: Number.NEGATIVE_INFINITY };
  const found: { incumbent: Incumbent | null } = { incumbent: null };
  const solveAt = (lambda: number): Line | null => {
    const result = minSum(problem, steps, lambda, false);
    if (result.choice === null) return null;
    const evaluation = evaluateChoice(problem, result.choice);
    const bound = result.value - lambda * budget;
    if (bound > best.lowerBound) best = { lambda, lowerBound: bound };
    const known = found.incumbent;
    if (evaluation.feasible && (known === null || evaluation.objective < known.objective))
      found.incumbent = { choice: result.choice, objective: evaluation.objective };
    return { cost: evaluation.objective, memory: evaluation.memory, choice: result.choice };
  };

  const atZero = solveAt(0);
  if (atZero === null) return null;
  let over: Line = atZero;
  let within: Line | null = over.memory <= budget ? over : null;
  // Grow λ until the argmin fits: start where removing all the excess would cost the whole objective.
  let lambda = Math.abs(over.cost) / Math.max(over.memory - budget, Number.MIN_VALUE) || 1;
  for (let i = 0; within === null && i < MAX_ITERATIONS && performance.now() < deadlineMs; i++) {
    const line: Line = solveAt(lambda)!;
    if (line.memory <= budget) within = line;
    else over = line;
    lambda *= 4;
  }
  for (let i = 0; within !== null && over !== within && i < MAX_ITERATIONS; i++) {
    if (performance.now() >= deadlineMs || over.memory <= within.memory) break;
    // Where the two lines cross: L(λ) is at most their lower envelope, and this is its highest point.
    const next: number = (within.cost - over.cost) / (over.memory - within.memory);
    const envelope = over.cost + next * over.memory;
    const line: Line = solveAt(next)!;
    if (line.cost + next * line.memory >= envelope - PROOF_RELATIVE_GAP * Math.abs(envelope)) break;
    if (line.memory > budget) over = line;
    else within = line;
  }

  // An argmin that meets the bound needs no polish (often the unconstrained optimum, which fits).
  const argminProven = found.incumbent !== null && meetsBound(found.incumbent.objective, best.lowerBound);
  const polished = argminProven ? found.incumbent : polish(problem, found.incumbent, deadlineMs);
  const proven = polished !== null && meetsBound(polished.objective, best.lowerBound);
  const final = proven ? null : minSum(problem, steps, best.lambda, true);
  return {
    ...best,
    incumbent: polished,
    proven,
    tables: final === null ? null : { inside: final.inside, outside: final.outside! },
  };
}

/** Single-node moves from the best argmin, and from the leanest choice: whichever ends cheaper. */
function polish(problem: IlpProblem, found: Incumbent | null, deadlineMs: number): Incumbent | null {
  const candidates = [
    found,
    found === null ? null : greedyIncumbent(problem, deadlineMs, found.choice),
    greedyIncumbent(problem, deadlineMs),
  ];
  let best: Incumbent | null = null;
  for (const c of candidates) if (c !== null && (best === null || c.objective < best.objective)) best = c;
  return best;
}
