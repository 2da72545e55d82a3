import { Worker } from 'node:worker_threads';
import { newProcessTable } from './child-processes.ts';

/**
 * Starts a worker thread on `entry`, the one rule for it in the project (the ILP's isolated solves
 * and the planner's thread pool both start theirs here). Under tsx or vitest the entry is TypeScript
 * source and a worker thread does not inherit the loader, so it starts from a small .mjs bootstrap
 * that registers tsx and imports the entry; a compiled .js entry starts directly. A worker inherits
 * the process's flags by default, and some are fatal for it (`--input-type` when the caller was
 * `node -e`); none is needed, so none is passed. Stop it with stopThread, which stops its solver
 * processes too.
 */
export function startThread(entry: URL): Worker {
  const execArgv: string[] = [];
  // The solver processes the thread starts are listed where stopThread can see them (child-processes.ts).
  const processes = newProcessTable();
  if (!entry.pathname.endsWith('.ts'))
    return processes.attach(new Worker(entry, { execArgv, workerData: { processTable: processes.table } }));
  return processes.attach(
    new Worker(new URL('./isolated-bootstrap.mjs', import.meta.url), {
      execArgv,
      workerData: { entry: entry.href, processTable: processes.table },
    }),
  );
}
