/**
 * How the planner's callers start worker threads: the solvers' one rule for it (source under tsx,
 * built JavaScript otherwise), passed on so that queue/ reaches solvers/ only through the planner.
 */
export { startThread } from '../../solvers/thread.ts';
