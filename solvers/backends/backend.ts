/**
 * The contract every MILP backend fulfils: solve a LinearModel within a time limit and report honestly what
 * it knows. Backends are adapters only; solvers/verify.ts checks whatever they return.
 */
import type { BackendName, IlpStatus } from '../problem.ts';
import type { LinearModel } from './linearise.ts';

export type MilpBackendName = Exclude<BackendName, 'elimination'>;

export interface MilpResult {
  /** optimal / feasible need a point; infeasible / timeout must not have one. */
  readonly status: IlpStatus;
  /** Value of each column, when there is a point. */
  readonly columnValues: ((column: number) => number) | null;
  /** The backend's objective without the model's constant offset; null without a point. */
  readonly objective: number | null;
}

export interface MilpSolveOptions {
  /** Stops the solve (backends that run outside this thread); in-thread backends cannot be interrupted. */
  readonly signal?: AbortSignal;
  /** A known integral point (value per column) to start from; backends without warm starts ignore it. */
  readonly start?: (column: number) => number;
}

export interface MilpBackend {
  readonly name: MilpBackendName;
  /** `model` has at least one column and is not evidently infeasible. */
  solve(model: LinearModel, timeLimitSec: number, options?: MilpSolveOptions): Promise<MilpResult>;
}
