/**
 * The solver processes (cbc) this thread has running. A worker thread that is terminated cannot clean up
 * after itself, and its child processes are the process's, not the thread's: they would run on to their
 * own limit. So the thread reports each start and end (isolated-worker.ts, and the planner's threads), and
 * the runner that kills the thread kills what is still running (stopThread, used by isolated.ts and the
 * planning thread pool).
 */
import type { Worker } from 'node:worker_threads';

/** A thread's report of a solver process (cbc) it started or saw end. */
export interface ProcessReport {
  readonly type: 'process';
  readonly pid: number;
  readonly running: boolean;
}

type Watcher = (pid: number, running: boolean) => void;

let watcher: Watcher | null = null;

/** Installs the one watcher of this thread (the isolated worker's); null removes it. */
export function watchChildProcesses(next: Watcher | null): void {
  watcher = next;
}

export function childProcessStarted(pid: number): void {
  watcher?.(pid, true);
}

export function childProcessEnded(pid: number): void {
  watcher?.(pid, false);
}

/** Keeps `processes` up to date from a thread's message; true when the message was such a report. */
export function trackProcessReport(
  processes: Set<number>,
  message: { readonly type: string },
): message is ProcessReport {
  if (message.type !== 'process') return false;
  const report = message as ProcessReport;
  if (report.running) processes.add(report.pid);
  else processes.delete(report.pid);
  return true;
}

/** SIGKILL, as the backends kill at their own deadline; a process that has already ended is no error. */
function killProcess(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // ESRCH: it ended between its last report and now.
  }
}

/** How long a thread may take to collect its killed solver processes before it is terminated regardless. */
const REAP_GRACE_MS = 2000;

/**
 * Kills the thread and the solver processes it has running. The processes go first, and the thread is
 * terminated once it has seen them end: only the event loop that started a process collects its exit
 * status, so a process that outlives its thread stays a zombie until meshplan exits. A thread busy in
 * synchronous work cannot collect them and is terminated after REAP_GRACE_MS all the same.
 */
export function stopThread(worker: Worker, processes: Set<number>): Promise<void> {
  if (processes.size === 0) return worker.terminate().then(() => undefined);
  return new Promise<void>((resolve) => {
    const finish = () => {
      clearTimeout(timer);
      worker.off('message', onMessage);
      void worker.terminate().then(() => resolve());
    };
    const onMessage = (message: { readonly type: string }) => {
      trackProcessReport(processes, message);
      if (processes.size === 0) finish();
    };
    const timer = setTimeout(finish, REAP_GRACE_MS);
    worker.on('message', onMessage);
    for (const pid of processes) killProcess(pid);
  });
}
