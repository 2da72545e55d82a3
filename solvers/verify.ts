/**
 * Independent checks of solver answers. Nothing a backend says is trusted: the choice is read back from
 * the binaries, checked for integrality and range, and its objective and memory are recomputed here.
 */
import { InvalidProblemError, SolverVerificationError } from './errors.ts';
import type { BackendAnswer, IlpProblem, IlpStatus } from './problem.ts';

/** A binary whose value is this close to 0 or 1 counts as integral (MILP solvers' default is 1e-6). */
const INTEGRALITY_TOLERANCE = 1e-6;
/** Relative slack on the memory budget: a choice over it by more is rejected. */
const MEMORY_RELATIVE_TOLERANCE = 1e-9;
/** Relative agreement required between a backend's objective and the recomputed one. */
export const OBJECTIVE_RELATIVE_TOLERANCE = 1e-6;

export interface ChoiceEvaluation {
  /** Σ node cost of the chosen strategies + Σ edge cost[chosen_from][chosen_to]; Infinity if forbidden. */
  readonly objective: number;
  /** Σ memory of the chosen strategies. */
  readonly memory: number;
  /** Objective finite and memory within the budget (up to MEMORY_RELATIVE_TOLERANCE). */
  readonly feasible: boolean;
}

export interface VerifiedAnswer {
  readonly status: IlpStatus;
  readonly choice: readonly number[] | null;
  readonly objective: number | null;
}

export function fitsBudget(memory: number, budget: number | null): boolean {
  return budget === null || memory <= budgetCeiling(budget);
}

/**
 * The most memory a choice may use under `budget`: the budget plus rounding slack, so that a choice
 * using exactly the budget (summed in another order) is not refused. Every solver bounds memory by it.
 */
export function budgetCeiling(budget: number): number {
  return budget + MEMORY_RELATIVE_TOLERANCE * Math.max(budget, 1);
}

/** Recomputes objective and memory of a choice from the problem alone. */
export function evaluateChoice(problem: IlpProblem, choice: readonly number[]): ChoiceEvaluation {
  if (choice.length !== problem.nodes.length) {
    throw new InvalidProblemError('choice', `has ${choice.length} entries for ${problem.nodes.length} nodes`);
  }
  let objective = 0;
  let memory = 0;
  problem.nodes.forEach((node, v) => {
    const k = choice[v]!;
    if (!Number.isInteger(k) || k < 0 || k >= node.cost.length) {
      throw new InvalidProblemError(`choice[${v}]`, `${k} is not a strategy index of node ${v}`);
    }
    objective += node.cost[k]!;
    memory += node.memory[k]!;
  });
  for (const edge of problem.edges) objective += edge.cost[choice[edge.from]!]![choice[edge.to]!]!;
  return {
    objective,
    memory,
    feasible: Number.isFinite(objective) && fitsBudget(memory, problem.memoryBudget),
  };
}

/** Reads the strategy of each node from the backend's binaries, rejecting anything not 0/1 one-hot. */
function readChoice(problem: IlpProblem, answer: BackendAnswer): number[] {
  const fail = (detail: string) => new SolverVerificationError(answer.backend, detail);
  const selection = answer.selection!;
  if (selection.length !== problem.nodes.length) {
    throw fail(`selection has ${selection.length} nodes, the problem ${problem.nodes.length}`);
  }
  return problem.nodes.map((node, v) => {
    const values = selection[v]!;
    if (values.length !== node.cost.length) {
      throw fail(`node ${v} has ${values.length} binaries for ${node.cost.length} strategies`);
    }
    let chosen = -1;
    values.forEach((value, k) => {
      const isZero = Math.abs(value) <= INTEGRALITY_TOLERANCE;
      const isOne = Math.abs(value - 1) <= INTEGRALITY_TOLERANCE;
      if (!isZero && !isOne) throw fail(`s[${v}][${k}] = ${value} is fractional`);
      if (isOne) {
        if (chosen >= 0) throw fail(`node ${v} has strategies ${chosen} and ${k} both chosen`);
        chosen = k;
      }
    });
    if (chosen < 0) throw fail(`node ${v} has no strategy chosen`);
    return chosen;
  });
}

/**
 * Checks a backend's answer and returns the choice with its recomputed objective. Throws
 * SolverVerificationError instead of ever returning an unverified plan.
 */
export function verifySolution(problem: IlpProblem, answer: BackendAnswer): VerifiedAnswer {
  const fail = (detail: string) => new SolverVerificationError(answer.backend, detail);
  const hasPoint = answer.status === 'optimal' || answer.status === 'feasible';
  if (!hasPoint) {
    if (answer.selection !== null) throw fail(`status ${answer.status} comes with a point`);
    return { status: answer.status, choice: null, objective: null };
  }
  if (answer.selection === null) throw fail(`status ${answer.status} comes without a point`);
  const choice = readChoice(problem, answer);
  const evaluation = evaluateChoice(problem, choice);
  if (!Number.isFinite(evaluation.objective)) throw fail('the choice uses a forbidden (infinite-cost) pair');
  if (!fitsBudget(evaluation.memory, problem.memoryBudget)) {
    throw fail(`memory ${evaluation.memory} exceeds the budget ${problem.memoryBudget}`);
  }
  if (answer.claimedObjective !== null) {
    const scale = Math.max(1, Math.abs(evaluation.objective));
    if (!(Math.abs(answer.claimedObjective - evaluation.objective) <= OBJECTIVE_RELATIVE_TOLERANCE * scale)) {
      throw fail(`claimed objective ${answer.claimedObjective}, recomputed ${evaluation.objective}`);
    }
  }
  return { status: answer.status, choice, objective: evaluation.objective };
}
