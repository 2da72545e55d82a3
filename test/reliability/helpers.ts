import { Queue } from 'bullmq';
import { expect } from 'vitest';
import type { createMeshplanClient } from '../../src/client/index.ts';
import { pollJob } from '../e2e/poll.ts';
import type { startMeshplan } from '../e2e/processes.ts';

export type Child = ReturnType<typeof startMeshplan>;
type Client = ReturnType<typeof createMeshplanClient>;

const TRANSFORMER = { kind: 'transformer', vocab: 51200, seqLen: 2048 } as const;

/** GPT 1T on 3,072 A100: seconds of solving; distinct batches make distinct jobs. */
export function slowPlan(globalBatch: number) {
  return {
    model: { ...TRANSFORMER, layers: 128, hidden: 25600, heads: 160 },
    cluster: { gpu: 'A100-80GB', nodes: 384, gpusPerNode: 8 },
    training: { globalBatch },
  };
}

/** GPT-3 175B on 1,024 A100: about a second. */
export function quickPlan(globalBatch: number) {
  return {
    model: { ...TRANSFORMER, layers: 96, hidden: 12288, heads: 96 },
    cluster: { gpu: 'A100-80GB', nodes: 128, gpusPerNode: 8 },
    training: { globalBatch },
  };
}

/** Plans in a fraction of a second. */
export const QUICK_PLAN = {
  model: { kind: 'transformer', layers: 2, hidden: 256, heads: 4, vocab: 1024, seqLen: 128 },
  cluster: { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 2 },
  training: { globalBatch: 8 },
};

export function isRunning(child: Child): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** Every process named is still running (none crashed). */
export function expectAlive(children: Record<string, Child>): void {
  for (const [name, child] of Object.entries(children)) {
    const why = `${name} exited (${child.exitCode ?? child.signalCode}):\n${child.output.join('')}`;
    expect(isRunning(child), why).toBe(true);
  }
}

/** Resolves once `child` has printed a line matching `pattern`. */
export async function waitForOutput(child: Child, pattern: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(child.output.join(''))) {
    if (Date.now() > deadline || !isRunning(child))
      throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${child.output.join('')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function waitForStatus(client: Client, id: string, status: string, timeoutMs: number) {
  const job = await pollJob(client, id, (s) => s === status, timeoutMs);
  expect(job?.status, `job ${id} never became ${status}`).toBe(status);
  return job!;
}

/** `response` is an RFC 9457 problem document with this status and code. */
export async function expectProblem(response: Response, status: number, code: string): Promise<void> {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(((await response.json()) as { code?: string }).code).toBe(code);
}

/**
 * Each job's result written once, by one worker (its log says so once), and the queue left with
 * nothing running or waiting: `ids.length` completed jobs and no failure.
 */
export async function expectEachFinishedOnce(
  queueName: string,
  redisUrl: string,
  workers: readonly Child[],
  ids: readonly string[],
): Promise<void> {
  const logs = workers.map((worker) => worker.output.join('')).join('\n');
  for (const id of ids) expect(logs.split(`job ${id} succeeded`).length - 1).toBe(1);
  const queue = new Queue(queueName, { connection: { url: redisUrl } as never });
  try {
    const counts = await queue.getJobCounts('active', 'waiting', 'delayed', 'completed', 'failed');
    expect(counts).toEqual({ active: 0, waiting: 0, delayed: 0, completed: ids.length, failed: 0 });
  } finally {
    await queue.close();
  }
}
