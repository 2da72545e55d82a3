/**
 * The solver processes (cbc) this thread has running. A worker thread that is terminated cannot clean up
 * after itself, and its child processes are the process's, not the thread's: they would run on to their
 * own limit. So the thread reports each start and end (isolated-worker.ts), and the runner that kills the
 * thread kills what is still running (isolated.ts).
 */

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
