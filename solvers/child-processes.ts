/**
 * The solver processes (cbc) a worker thread has running. A thread that is terminated cannot clean up after
 * itself, and its child processes are the process's, not the thread's: they would run on to their own
 * limit, and only the event loop that started one collects its exit status (until then it stays a zombie).
 *
 * So each thread started by startThread shares a small table with its runner: the pids it has running and
 * how many it is about to start. Shared memory, not messages, because a message can be in flight when the
 * runner decides to stop the thread (a cancel just after cbc started): the table is never behind. The
 * thread also posts a report of each start and end, which wakes a runner that waits for them to end.
 */
import { type MessagePort, parentPort, type Worker, workerData } from 'node:worker_threads';
import { SolveAbortedError, SolverBackendError } from './errors.ts';

/** A thread's report of a solver process (cbc) it started or saw end; the table holds the facts. */
export interface ProcessReport {
  readonly type: 'process';
  readonly pid: number;
  readonly running: boolean;
}

export function isProcessReport(message: { readonly type: string }): message is ProcessReport {
  return message.type === 'process';
}

/** Table layout (Int32 slots): the runner's stop flag, the starts under way, then one slot per pid (0: free). */
const STOPPING = 0;
const STARTING = 1;
const FIRST_PID = 2;
/** A thread runs one cbc at a time (two while a solve hands over); far more than it ever needs. */
const PID_SLOTS = 16;

/** Each thread's table, runner side, by thread. */
const tables = new WeakMap<Worker, SharedArrayBuffer>();

/**
 * The table of a thread about to start, to hand it as `workerData.processTable`; `attach` records the
 * thread once it exists, for stopThread.
 */
export function newProcessTable(): { readonly table: SharedArrayBuffer; attach(worker: Worker): Worker } {
  const table = new SharedArrayBuffer((FIRST_PID + PID_SLOTS) * Int32Array.BYTES_PER_ELEMENT);
  return {
    table,
    attach(worker) {
      tables.set(worker, table);
      return worker;
    },
  };
}

/** This thread's table and the port its reports go to; null on the main thread and in foreign threads. */
const own: { readonly table: Int32Array; readonly port: MessagePort } | null =
  parentPort !== null && workerData?.processTable instanceof SharedArrayBuffer
    ? { table: new Int32Array(workerData.processTable), port: parentPort }
    : null;

/**
 * Called just before a solver process is spawned, and paired with childProcessStarted. Refuses (as an
 * abort) once the runner is stopping this thread. The order matters: the start is counted before the
 * flag is read, and the runner sets the flag before it reads the count, so one of the two always sees
 * the other.
 */
export function childProcessStarting(): void {
  if (own === null) return;
  if (freeSlot(own.table) === null)
    throw new SolverBackendError('cbc', `more than ${PID_SLOTS} solver processes in one thread`);
  Atomics.add(own.table, STARTING, 1);
  if (Atomics.load(own.table, STOPPING) !== 0) {
    Atomics.sub(own.table, STARTING, 1);
    throw new SolveAbortedError('the solver thread is being stopped');
  }
}

/** Called once the spawn returned: `pid` undefined when it failed. Recorded before the start is uncounted. */
export function childProcessStarted(pid: number | undefined): void {
  if (own === null) return;
  // A slot is free: childProcessStarting checked, and nothing else runs on this thread in between.
  if (pid !== undefined) Atomics.store(own.table, freeSlot(own.table)!, pid);
  Atomics.sub(own.table, STARTING, 1);
  if (pid !== undefined)
    own.port.postMessage({ type: 'process', pid, running: true } satisfies ProcessReport);
}

/** Called once the process has ended and this thread has collected its exit status. */
export function childProcessEnded(pid: number): void {
  if (own === null) return;
  for (let slot = FIRST_PID; slot < own.table.length; slot++)
    if (Atomics.compareExchange(own.table, slot, pid, 0) === pid) break;
  own.port.postMessage({ type: 'process', pid, running: false } satisfies ProcessReport);
}

function freeSlot(table: Int32Array): number | null {
  for (let slot = FIRST_PID; slot < table.length; slot++) if (Atomics.load(table, slot) === 0) return slot;
  return null;
}

/** SIGKILL, as the backends kill at their own deadline; a process that has already ended is no error. */
function killProcess(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // ESRCH: it ended between the thread's last look and now.
  }
}

/**
 * Kills what the table lists and was not killed yet (once each: after its exit status is collected a pid
 * may be reused, and the slot is cleared just after); true when nothing runs and nothing is being started.
 */
function killRunning(table: Int32Array, killed: Set<number>): boolean {
  // The count first: a start it no longer counts has its pid in the table already.
  let idle = Atomics.load(table, STARTING) === 0;
  for (let slot = FIRST_PID; slot < table.length; slot++) {
    const pid = Atomics.load(table, slot);
    if (pid === 0) continue;
    idle = false;
    if (!killed.has(pid)) killProcess(pid);
    killed.add(pid);
  }
  return idle;
}

/** How long a thread may take to collect its killed solver processes before it is terminated regardless. */
const REAP_GRACE_MS = 2000;

/**
 * Kills the thread and the solver processes it has running. No process can start once the stop flag is
 * set; those running are killed, and the thread is terminated once it has seen them end (its event loop
 * collects their exit status). A thread busy in synchronous work cannot, and is terminated after
 * REAP_GRACE_MS all the same. A thread with nothing running is terminated at once.
 */
export function stopThread(worker: Worker): Promise<void> {
  const shared = tables.get(worker);
  if (shared === undefined) return worker.terminate().then(() => undefined);
  const table = new Int32Array(shared);
  Atomics.store(table, STOPPING, 1);
  const killed = new Set<number>();
  if (killRunning(table, killed)) return worker.terminate().then(() => undefined);
  return new Promise<void>((resolve) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      worker.off('message', onMessage).off('exit', finish);
      void worker.terminate().then(() => resolve());
    };
    // Every report is a cue to look again: a start just completed, or a process collected.
    const onMessage = (message: { readonly type: string }) => {
      if (isProcessReport(message) && killRunning(table, killed)) finish();
    };
    const timer = setTimeout(finish, REAP_GRACE_MS);
    worker.on('message', onMessage).once('exit', finish);
  });
}
