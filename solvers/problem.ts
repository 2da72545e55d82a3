/**
 * The intra-operator sharding problem in pure numbers (DESIGN.md §5): pick one strategy per node so
 * that node costs plus edge resharding costs are minimal and the chosen memory fits the budget.
 * Nothing here knows about GPUs, tensors or transformers.
 */

export interface IlpNode {
  /** Cost of each strategy (seconds in meshplan, but any unit works). */
  readonly cost: readonly number[];
  /** Per-device memory of each strategy (bytes in meshplan); same length as `cost`. */
  readonly memory: readonly number[];
}

export interface IlpEdge {
  readonly from: number;
  readonly to: number;
  /** cost[k][l]: cost when `from` picks strategy k and `to` picks strategy l. */
  readonly cost: readonly (readonly number[])[];
}

export interface IlpProblem {
  readonly nodes: readonly IlpNode[];
  readonly edges: readonly IlpEdge[];
  /** Upper bound on Σ memory of the chosen strategies; null means unconstrained. */
  readonly memoryBudget: number | null;
  /** Wall-clock limit of the solve, in seconds. */
  readonly timeLimitSec: number;
}

/**
 * optimal: proven optimum. feasible: a verified choice, optimality not proven (time limit hit).
 * infeasible: proven that no choice fits the memory budget (or every choice uses an infinite, i.e. forbidden,
 * cost). timeout: time ran out with no choice.
 */
export type IlpStatus = 'optimal' | 'feasible' | 'infeasible' | 'timeout';

/**
 * The solvers that can answer an ILP: MILP backends (cbc only where the `cbc` binary is installed) and the
 * exact elimination DP.
 */
export const BACKEND_NAMES = ['highs', 'lp-solver', 'glpk', 'cbc', 'elimination'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
/** What a caller may ask for: one backend, or `auto` (the fastest measured for the problem). */
export const BACKEND_CHOICES = ['auto', ...BACKEND_NAMES] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

export interface IlpSolution {
  readonly status: IlpStatus;
  /** Objective recomputed from `choice`; null when there is no choice. */
  readonly objective: number | null;
  /** Strategy index per node; null when there is no choice. */
  readonly choice: readonly number[] | null;
  readonly wallSec: number;
  /** The backend that produced the answer. */
  readonly backend: BackendName;
}

export interface SolveOptions {
  readonly backend?: BackendChoice;
  readonly signal?: AbortSignal;
  /**
   * Called when a backend starts (with `auto`, possibly more than once), so that a runner that kills the
   * solve at its deadline can still say which backend ran out of time.
   */
  readonly onBackendStart?: (backend: BackendName) => void;
}

/** What a backend claims, before solvers/verify.ts checks it. */
export interface BackendAnswer {
  readonly backend: BackendName;
  readonly status: IlpStatus;
  /**
   * The value of each binary s_vk as the backend returned it, one array per node (a broken backend may return
   * fractions); null when the backend has no point.
   */
  readonly selection: readonly (readonly number[])[] | null;
  /** The backend's own objective value, compared with the one recomputed from the choice; null if none. */
  readonly claimedObjective: number | null;
}
