/**
 * Worker-thread side of solveIlpIsolated: runs solves one at a time (the thread is reused, so its solver
 * modules load once) and reports the backend each is on.
 */
import { parentPort } from 'node:worker_threads';
import { solveIlp } from './ilp.ts';
import { type SolveRequest, serializeError, type WorkerMessage } from './isolated-protocol.ts';

const port = parentPort!;
const post = (message: WorkerMessage) => port.postMessage(message);

port.on('message', async (request: SolveRequest) => {
  try {
    // The solver gets what is left of the caller's time, net of this thread's start-up.
    const remainingSec = (request.deadlineEpochMs - Date.now()) / 1000;
    if (remainingSec <= 0) {
      const backend = request.backend === 'auto' ? 'elimination' : request.backend;
      post({
        type: 'solution',
        solution: { status: 'timeout', objective: null, choice: null, wallSec: 0, backend },
      });
      return;
    }
    const solution = await solveIlp(
      { ...request.problem, timeLimitSec: remainingSec },
      { backend: request.backend, onBackendStart: (backend) => post({ type: 'backend', backend }) },
    );
    post({ type: 'solution', solution });
  } catch (error) {
    post({ type: 'error', error: serializeError(error) });
  }
});
