/**
 * Worker-thread side of PlanThreadPool: plans (or prices) the requests it is sent, one at a time, and
 * reports each plan's progress. The thread outlives a job so the next one skips loading the planner
 * and its solvers.
 */
import { parentPort } from 'node:worker_threads';
import { estimate } from '../planner/estimate.ts';
import { plan } from '../planner/plan.ts';
import type { SearchProgress } from '../planner/search.ts';
import type { Plan } from '../schema/index.ts';
import { type PlanThreadInput, type PlanThreadMessage, serializeError } from './plan-thread-protocol.ts';

/** The search may report far more often than anyone reads; a phase change always goes through. */
const PROGRESS_INTERVAL_MS = 100;

const port = parentPort!;
const post = (message: PlanThreadMessage) => port.postMessage(message);

port.on('message', async ({ task, request, deadlineMs }: PlanThreadInput) => {
  let lastPhase = '';
  let lastPostMs = 0;
  const onProgress = ({ phase, fraction }: SearchProgress) => {
    const now = Date.now();
    if (phase === lastPhase && now - lastPostMs < PROGRESS_INTERVAL_MS) return;
    lastPhase = phase;
    lastPostMs = now;
    post({ type: 'progress', progress: { phase, fraction: Math.min(1, Math.max(0, fraction)) } });
  };
  try {
    if (task === 'estimate') {
      post({ type: 'plan', plan: await estimate(request) });
      return;
    }
    const onBest = (best: Plan) => post({ type: 'best', planJson: JSON.stringify(best) });
    post({ type: 'plan', plan: await plan(request, { onProgress, onBest, deadlineMs }) });
  } catch (error) {
    post({ type: 'error', error: serializeError(error) });
  }
});
