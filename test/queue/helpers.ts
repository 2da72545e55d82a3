/** Fixtures shared by the queue tests: requests, stand-in planners, clocks and Redis clean-up. */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { queueKeys } from '../../src/queue/bull-protocol.ts';
import type { PlanRunner } from '../../src/queue/plan-thread-pool.ts';
import { type Plan, PlanRequest, type PlanRequestInput } from '../../src/schema/index.ts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** The brief's small job: a 2-layer transformer on one 8-GPU node, planned in about a second. */
export const TINY_INPUT = {
  model: { kind: 'transformer', layers: 2, hidden: 512, heads: 8, vocab: 1000, seqLen: 128 },
  cluster: { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 8 },
  training: { globalBatch: 16 },
} as const satisfies PlanRequestInput;
export const TINY = PlanRequest.parse(TINY_INPUT);

/** A request that plans for about 7 s on this kind of machine: 160 layers at 16k tokens over 8,192 H100. */
export const LONG = PlanRequest.parse({
  model: { kind: 'transformer', layers: 160, hidden: 16384, heads: 128, vocab: 50000, seqLen: 16384 },
  cluster: { gpu: 'H100-80GB', nodes: 1024, gpusPerNode: 8 },
  training: { globalBatch: 4096 },
});

/** Valid for the schema, rejected by the planner: the failure surfaces in the job, not at submit. */
export const UNKNOWN_GPU = PlanRequest.parse({
  ...TINY_INPUT,
  cluster: { ...TINY_INPUT.cluster, gpu: 'H900' },
});

/** A distinct small request per `n`, for tests that only count or order jobs. */
export function variant(n: number): PlanRequest {
  return PlanRequest.parse({ ...TINY_INPUT, training: { globalBatch: 16 * (n + 1) } });
}

/** A schema-valid answer without a plan in it; infeasible is an answer, so its job succeeds. */
export const INFEASIBLE_PLAN: Plan = {
  status: 'infeasible',
  reason: 'a stand-in answer from a test runner',
  summary: null,
  breakdown: null,
  stages: [],
  schedule: null,
  exports: null,
  alternatives: [],
  solver: { status: 'infeasible', ilpSolves: 0, dpStates: 0, configurationsTried: 0, wallSec: 0 },
  assumptions: [],
};

/** A runner that answers `plan` at once and counts its calls. */
export function instantRunner(plan: Plan = INFEASIBLE_PLAN): PlanRunner & { calls: number } {
  const runner = Object.assign(
    async () => {
      runner.calls += 1;
      return plan;
    },
    { calls: 0 },
  );
  return runner;
}

/** A runner that only ends when aborted, rejecting with the abort's reason as a JobCancelledError would. */
export function blockingRunner(): PlanRunner & { started: PlanRequest[] } {
  const started: PlanRequest[] = [];
  const runner: PlanRunner = (request, { signal }) => {
    started.push(request);
    return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason)));
  };
  return Object.assign(runner, { started });
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function eventually<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The longest pause of the event loop while `work` runs, seen by a 5 ms interval timer. */
export async function longestStallMs(work: () => Promise<unknown>): Promise<number> {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 5);
  try {
    await work();
    // Work that held the loop to its end resolves before the overdue tick runs: let the tick count it.
    await new Promise((resolve) => setTimeout(resolve, 10));
  } finally {
    clearInterval(timer);
  }
  return longest;
}

/** CPU time (ms) this process spends over `ms` of wall time: near zero once every solve has stopped. */
export async function cpuMsDuring(ms: number): Promise<number> {
  const before = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1000;
}

export function freshQueueName(): string {
  return `test-plans-${randomUUID()}`;
}

/** Removes a test queue: BullMQ's keys and meshplan's own. */
export async function dropQueue(name: string): Promise<void> {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue(name, { connection: client });
  try {
    await queue.obliterate({ force: true });
    const keys = await client.keys(queueKeys(name).pattern);
    if (keys.length > 0) await client.del(...keys);
  } finally {
    await queue.close();
    await client.quit();
  }
}
