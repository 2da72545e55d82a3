/**
 * The inter-operator stage problem in pure numbers (DESIGN.md §6, Alpa OSDI'22 §5 Eq. 3–5): cut L layers into
 * contiguous stages, give each a sub-mesh and one of its priced options, so that the sub-meshes use exactly
 * the devices there are, every stage fits its memory, and the pipelined step time is least.
 */

/** One way to run layers first..last on one sub-mesh. */
export interface StageOption {
  /** Forward + backward time of ONE microbatch on this stage. */
  readonly latencySec: number;
  /** Per-step cost paid once (exposed gradient synchronisation, optimizer step). */
  readonly onceSec: number;
  /**
   * Memory check (Alpa Eq. 5): valid only if the number of stages AFTER this one is ≤ this, since 1F1B keeps
   * that many extra microbatches in flight. -1 = never fits; Infinity = always fits.
   */
  readonly maxStagesAfter: number;
  /** The caller's id for the option (e.g. which logical mesh or configuration); returned untouched. */
  readonly tag: number;
}

export interface StageDpProblem {
  /** L, the number of layers. */
  readonly layers: number;
  /** Device count (in the caller's device unit) of each allowed sub-mesh shape. */
  readonly submeshDevices: readonly number[];
  /** The stages' sub-meshes must use exactly this many devices. */
  readonly totalDevices: number;
  /** B, microbatches per step. */
  readonly microbatches: number;
  /** options[first][last - first][submesh]: options for layers first..last on that sub-mesh (maybe none). */
  readonly options: readonly (readonly (readonly (readonly StageOption[])[])[])[];
  /** Upper bound on the number of stages; default: no bound beyond layers and devices. */
  readonly maxStages?: number;
}

export interface StageDpOptions {
  readonly signal?: AbortSignal;
  /**
   * A performance.now() time. Checked between DP runs: once passed, the search returns its best solution so
   * far (status `feasible`), or `timeout` if it has none yet.
   */
  readonly deadlineMs?: number;
  /**
   * Run the bounded DP at every distinct option latency, in ascending order, without bounds, budgets,
   * candidate merging or dominance pruning: Alpa's loop with nothing skipped. For tests and benchmarks.
   */
  readonly exhaustiveTmax?: boolean;
}

export interface StageAssignment {
  readonly first: number;
  readonly last: number;
  /** Index into `submeshDevices`. */
  readonly submesh: number;
  /** Index into options[first][last - first][submesh]. */
  readonly option: number;
  readonly tag: number;
  readonly latencySec: number;
}

interface SearchStats {
  /** Bounded (min-sum) DP runs, one per t_max candidate tried. */
  readonly tMaxCandidatesTried: number;
  /** DP cells F(bound, layer, devices) computed (not shared with another bound) over all runs. */
  readonly dpStates: number;
}

/**
 * optimal: the search finished. feasible: the deadline cut the search short; the stages are valid but not
 * proven best. infeasible: proven that no cut, sub-mesh and option choice covers the layers, uses exactly
 * `totalDevices` and fits memory. timeout: the deadline came before any solution or proof.
 */
export type StageDpResult =
  | (SearchStats & {
      readonly status: 'optimal' | 'feasible';
      /** T = Σ latency + (B − 1) · max latency + onceSec of stage 0. */
      readonly stepSec: number;
      readonly maxLatencySec: number;
      readonly stages: readonly StageAssignment[];
    })
  | (SearchStats & { readonly status: 'infeasible'; readonly reason: string })
  | (SearchStats & { readonly status: 'timeout' });
