/** Public API of the solvers: the intra-op ILP, its checks, and the pieces benchmarks and tests reuse. */
export { type EliminationLimits, type EliminationOutcome, solveByElimination } from './elimination.ts';
export {
  InvalidProblemError,
  SolveAbortedError,
  SolverBackendError,
  SolverVerificationError,
} from './errors.ts';
export { milpBackendForSize, solveIlp } from './ilp.ts';
export { type IsolatedSolveOptions, solveIlpIsolated } from './isolated.ts';
export type {
  BackendAnswer,
  BackendChoice,
  BackendName,
  IlpEdge,
  IlpNode,
  IlpProblem,
  IlpSolution,
  IlpStatus,
  SolveOptions,
} from './problem.ts';
export { BACKEND_CHOICES, BACKEND_NAMES } from './problem.ts';
export { expandChoice, type PrunedProblem, pruneProblem } from './prune.ts';
export { createRng, type RandomGraphShape, type RandomProblemOptions, randomProblem } from './random.ts';
export {
  type StageAssignment,
  type StageDpOptions,
  type StageDpProblem,
  type StageDpResult,
  type StageOption,
  solveStageDp,
} from './stage-dp.ts';
export { type FeasibilityProblem, fewestStages } from './stage-dp-feasible.ts';
export { startThread } from './thread.ts';
export { validateProblem } from './validate.ts';
export { type ChoiceEvaluation, evaluateChoice, type VerifiedAnswer, verifySolution } from './verify.ts';
