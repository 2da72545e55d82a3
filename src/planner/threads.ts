/**
 * How the planner's callers start worker threads: the solvers' one rule for it (source under tsx,
 * built JavaScript otherwise), and how a thread reports the solver processes it starts and is stopped
 * with them, passed on so that queue/ reaches solvers/ only through the planner.
 */
export {
  isProcessReport,
  type ProcessReport,
  stopThread,
} from '../../solvers/child-processes.ts';
export { startThread } from '../../solvers/thread.ts';
