/**
 * Brute-force oracle for the intra-op problem, written from the problem statement alone (no solver code):
 * enumerate every choice, keep those with finite cost and memory ≤ budget, take the cheapest.
 */
import type { IlpProblem } from '../../solvers/problem.ts';

export interface OracleAnswer {
  /** null when no choice is finite and within the budget. */
  readonly objective: number | null;
  readonly choice: readonly number[] | null;
}

export function costOf(
  problem: IlpProblem,
  choice: readonly number[],
): { objective: number; memory: number } {
  let objective = 0;
  let memory = 0;
  for (let v = 0; v < problem.nodes.length; v++) {
    objective += problem.nodes[v]!.cost[choice[v]!]!;
    memory += problem.nodes[v]!.memory[choice[v]!]!;
  }
  for (const edge of problem.edges) objective += edge.cost[choice[edge.from]!]![choice[edge.to]!]!;
  return { objective, memory };
}

export function bruteForce(problem: IlpProblem): OracleAnswer {
  const n = problem.nodes.length;
  const choice = new Array<number>(n).fill(0);
  let best: OracleAnswer = { objective: null, choice: null };
  for (;;) {
    const { objective, memory } = costOf(problem, choice);
    const fits = problem.memoryBudget === null || memory <= problem.memoryBudget;
    if (Number.isFinite(objective) && fits && (best.objective === null || objective < best.objective)) {
      best = { objective, choice: [...choice] };
    }
    // Odometer increment over the strategy counts.
    let v = 0;
    while (v < n && ++choice[v]! === problem.nodes[v]!.cost.length) choice[v++] = 0;
    if (v === n) return best;
  }
}

export function sameObjective(a: number, b: number): boolean {
  return Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(a), Math.abs(b));
}

/**
 * A deadline missed on a loaded machine (a CBC process starved of CPU) says nothing about the answer an
 * oracle test checks. It shows as 'timeout' with no point, or as 'feasible' when the solver stopped on
 * time holding an incumbent it had not proved optimal; such tests solve again with time to spare.
 */
export function stoppedOnTime(status: string): boolean {
  return status === 'timeout' || status === 'feasible';
}
