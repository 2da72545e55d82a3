/** Runs an IlpProblem through a MILP backend and phrases the result as a BackendAnswer for verification. */
import { SolveAbortedError, SolverBackendError } from '../errors.ts';
import type { BackendAnswer, IlpProblem } from '../problem.ts';
import type { MilpBackend, MilpBackendName, MilpSolveOptions } from './backend.ts';
import { cbcBackend } from './cbc.ts';
import { glpkBackend } from './glpk.ts';
import { highsBackend } from './highs.ts';
import { linearise, pointOfChoice, readSelection } from './linearise.ts';
import { lpSolverBackend } from './lp-solver.ts';

const MILP_BACKENDS: Readonly<Record<MilpBackendName, MilpBackend>> = {
  highs: highsBackend,
  glpk: glpkBackend,
  'lp-solver': lpSolverBackend,
  cbc: cbcBackend,
};

export interface MilpOptions {
  readonly signal?: AbortSignal;
  /** A feasible choice (strategy per node) to start from, e.g. an incumbent found by a heuristic. */
  readonly startChoice?: readonly number[];
}

/** Columns of the Alpa linearisation: one per free s_vk and per allowed e_kl. */
export function milpColumnCount(problem: IlpProblem): number {
  return linearise(problem).columnCosts.length;
}

export async function solveWithMilp(
  problem: IlpProblem,
  name: MilpBackendName,
  timeLimitSec: number,
  options: MilpOptions = {},
): Promise<BackendAnswer> {
  const model = linearise(problem);
  const none = { backend: name, selection: null, claimedObjective: null };
  if (model.evidentlyInfeasible) return { ...none, status: 'infeasible' };
  // Every node has a single strategy: nothing to decide, and some backends reject an empty model.
  if (model.columnCosts.length === 0) {
    return {
      backend: name,
      status: 'optimal',
      selection: readSelection(model, () => 0),
      claimedObjective: model.objectiveOffset,
    };
  }
  const point = options.startChoice ? pointOfChoice(problem, model, options.startChoice) : null;
  const solveOptions: MilpSolveOptions = {
    ...(options.signal ? { signal: options.signal } : {}),
    ...(point ? { start: (column: number) => point[column]! } : {}),
  };
  const result = await MILP_BACKENDS[name]
    .solve(model, timeLimitSec, solveOptions)
    .catch((error: unknown) => {
      // Whatever a solver library throws (numerical trouble, out of memory) leaves as one named error.
      if (error instanceof SolverBackendError || error instanceof SolveAbortedError) throw error;
      throw new SolverBackendError(name, error instanceof Error ? error.message : String(error));
    });
  if (result.columnValues === null) return { ...none, status: result.status };
  return {
    backend: name,
    status: result.status,
    selection: readSelection(model, result.columnValues),
    claimedObjective: result.objective === null ? null : result.objective + model.objectiveOffset,
  };
}
