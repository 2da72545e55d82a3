/**
 * The BullMQ adapter against the Redis on REDIS_URL (default 127.0.0.1:6379), with PlanWorkers started
 * in this process. Each test has its own queue name and removes its keys afterwards.
 */
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { plan } from '../../src/planner/plan.ts';
import { BullJobQueue } from '../../src/queue/bullmq-queue.ts';
import { PlanWorkerError } from '../../src/queue/errors.ts';
import { type PlanRunner, PlanThreadPool } from '../../src/queue/plan-thread-pool.ts';
import { PlanWorker, type PlanWorkerOptions } from '../../src/queue/worker.ts';
import type { Plan } from '../../src/schema/index.ts';
import {
  blockingRunner,
  cpuMsDuring,
  dropQueue,
  eventually,
  freshQueueName,
  instantRunner,
  LONG,
  REDIS_URL,
  TINY,
  UNKNOWN_GPU,
  variant,
} from './helpers.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A queue and (unless `runner` is null) a worker on a fresh queue name, both closed and dropped after the test. */
async function setUp(runner: PlanRunner | null, workerOptions: Partial<PlanWorkerOptions> = {}) {
  const queueName = freshQueueName();
  cleanups.push(() => dropQueue(queueName));
  const queue = new BullJobQueue({ redisUrl: REDIS_URL, queueName, backoffMs: 50 });
  cleanups.push(() => queue.close());
  const startWorker = async (workerRunner: PlanRunner) => {
    const worker = await PlanWorker.start({
      redisUrl: REDIS_URL,
      queueName,
      runner: workerRunner,
      ...workerOptions,
    });
    cleanups.push(() => worker.close());
    return worker;
  };
  const worker = runner === null ? null : await startWorker(runner);
  return { queue, queueName, worker, startWorker };
}

/** BullMQ's own view of a job, to check what the adapter hides (attempts, raw state). */
async function bullJob(queueName: string, id: string) {
  const client = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
  const queue = new Queue(queueName, { connection: client });
  try {
    const job = await queue.getJob(id);
    return { state: await job?.getState(), attemptsMade: job?.attemptsMade };
  } finally {
    await queue.close();
    await client.quit();
  }
}

describe('BullJobQueue with a PlanWorker', () => {
  const pool = new PlanThreadPool({ maxIdle: 1 });
  let inProcess: Plan;
  beforeAll(async () => {
    inProcess = await plan(TINY);
  });
  afterAll(() => pool.close());

  it('plans a small job on a worker thread to the summary plan() gives, and deduplicates it', async () => {
    const { queue } = await setUp(pool.run);
    const first = await queue.submit(TINY);
    expect(first).toMatchObject({ created: true, job: { sweepId: null } });
    expect(['queued', 'running']).toContain(first.job.status);
    expect(await queue.submit(structuredClone(TINY))).toMatchObject({
      created: false,
      job: { id: first.job.id },
    });
    const done = await queue.waitFor(first.job.id, 30_000);
    expect(done).toMatchObject({
      status: 'succeeded',
      error: null,
      progress: { phase: 'done', fraction: 1 },
    });
    expect(done!.plan!.summary).toEqual(inProcess.summary);
    expect(done!.startedAt).not.toBeNull();
    expect(await queue.submit(TINY)).toMatchObject({ created: false, job: { status: 'succeeded' } });
    expect(await queue.depth()).toBe(0);
  });

  it('retries a transient failure with backoff and then succeeds', async () => {
    let calls = 0;
    const flaky: PlanRunner = async (request, hooks) => {
      calls += 1;
      if (calls === 1) throw new PlanWorkerError('the planning thread exited with code 1');
      return instantRunner()(request, hooks);
    };
    const { queue, queueName } = await setUp(flaky);
    const { job } = await queue.submit(TINY);
    expect(await queue.waitFor(job.id, 10_000)).toMatchObject({
      status: 'succeeded',
      plan: { status: 'infeasible' },
    });
    expect(calls).toBe(2);
    expect(await bullJob(queueName, job.id)).toMatchObject({ state: 'completed', attemptsMade: 2 });
  });

  it('fails after its last attempt with the problem of the last error', async () => {
    const broken: PlanRunner = async () => {
      throw new PlanWorkerError('the planning thread crashed');
    };
    const { queue, queueName } = await setUp(broken);
    const { job } = await queue.submit(TINY);
    const done = await queue.waitFor(job.id, 10_000);
    expect(done).toMatchObject({ status: 'failed', error: { status: 500, code: 'PLAN_FAILED' } });
    expect(done!.error!.detail).toMatch(/crashed/);
    expect(await bullJob(queueName, job.id)).toMatchObject({ attemptsMade: 3 });
  });

  it('fails bad input once, unrecoverably, with a problem naming the field', async () => {
    let calls = 0;
    const counting: PlanRunner = (request, hooks) => {
      calls += 1;
      return pool.run(request, hooks);
    };
    const { queue, queueName } = await setUp(counting);
    const { job } = await queue.submit(UNKNOWN_GPU);
    const done = await queue.waitFor(job.id, 30_000);
    expect(done).toMatchObject({
      status: 'failed',
      error: { code: 'INVALID_INPUT', errors: [{ path: 'cluster.gpu' }] },
    });
    expect(calls).toBe(1);
    expect(await bullJob(queueName, job.id)).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(await queue.submit(UNKNOWN_GPU)).toMatchObject({ created: false, job: { status: 'failed' } });
  });

  it('cancels a running plan within 1 s: its worker stops the thread and fails the job as cancelled', async () => {
    const { queue, queueName } = await setUp(pool.run);
    const { job } = await queue.submit(LONG);
    await eventually(async () => {
      const latest = await queue.get(job.id);
      return latest?.status === 'running' && latest.progress.phase !== 'starting' ? latest : undefined;
    }, 30_000);
    const started = performance.now();
    const cancelled = await queue.cancel(job.id);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(cancelled).toMatchObject({ status: 'cancelled', plan: null, error: null });
    expect(await bullJob(queueName, job.id)).toMatchObject({ state: 'failed', attemptsMade: 1 });
    expect(await cpuMsDuring(1000)).toBeLessThan(300);
    expect(await queue.waitFor(job.id, 10)).toMatchObject({ status: 'cancelled' });
  });

  it('cancels a queued job before any worker sees it, and a resubmission queues it again', async () => {
    const { queue, startWorker } = await setUp(null);
    const { job } = await queue.submit(TINY);
    expect(await queue.cancel(job.id)).toMatchObject({ status: 'cancelled', startedAt: null });
    expect(await queue.get(job.id)).toMatchObject({ status: 'cancelled' });
    expect(await queue.depth()).toBe(0);
    const again = await queue.submit(TINY);
    expect(again).toMatchObject({ created: true, job: { id: job.id, status: 'queued' } });
    await startWorker(instantRunner());
    expect(await queue.waitFor(job.id, 10_000)).toMatchObject({ status: 'succeeded' });
  });

  it('runs a sweep and counts its rows by status', async () => {
    // Each point's answer carries its own coordinates, so a row joined to the wrong job shows.
    const byPoint: PlanRunner = async (request) => ({
      ...inProcess,
      summary: {
        ...inProcess.summary!,
        stepTimeSec: request.cluster.nodes * 1000 + request.training.globalBatch,
      },
    });
    const { queue } = await setUp(byPoint);
    const request = { base: TINY, grid: { 'cluster.nodes': [1, 2], 'training.globalBatch': [16, 32] } };
    const sweep = await queue.submitSweep(request);
    expect(sweep).toMatchObject({ points: 4 });
    expect(sweep.counts.queued + sweep.counts.running + sweep.counts.succeeded).toBe(4);
    const done = await eventually(async () => {
      const latest = await queue.getSweep(sweep.id);
      return latest?.counts.succeeded === 4 ? latest : undefined;
    });
    expect(done.counts).toEqual({ queued: 0, running: 0, succeeded: 4, failed: 0, cancelled: 0 });
    for (const row of done.rows) {
      expect(row).toMatchObject({ status: 'succeeded', planStatus: 'optimal', tp: inProcess.summary!.tp });
      const point = row.point as { 'cluster.nodes': number; 'training.globalBatch': number };
      expect(row.stepTimeSec).toBe(point['cluster.nodes'] * 1000 + point['training.globalBatch']);
    }
    expect(done.rows.map((row) => row.point)).toEqual(
      expect.arrayContaining([
        { 'cluster.nodes': 1, 'training.globalBatch': 16 },
        { 'cluster.nodes': 1, 'training.globalBatch': 32 },
        { 'cluster.nodes': 2, 'training.globalBatch': 16 },
        { 'cluster.nodes': 2, 'training.globalBatch': 32 },
      ]),
    );
    expect(new Set(done.rows.map((row) => row.jobId)).size).toBe(4);
    expect((await queue.get(done.rows[3]!.jobId))!.sweepId).toBe(sweep.id);
    // The same sweep again is the same sweep, its points deduplicated.
    expect(await queue.submitSweep(request)).toMatchObject({ id: sweep.id, counts: { succeeded: 4 } });
  });

  it('counts cancelled sweep points, read from tombstones', async () => {
    const { queue } = await setUp(null);
    const sweep = await queue.submitSweep({ base: TINY, grid: { 'training.globalBatch': [16, 32, 48] } });
    expect(sweep.counts.queued).toBe(3);
    await queue.cancel(sweep.rows[0]!.jobId);
    expect((await queue.getSweep(sweep.id))!.counts).toMatchObject({ queued: 2, cancelled: 1 });
  });

  it('puts a running job back in the queue when its worker shuts down, without spending an attempt', async () => {
    const blocker = blockingRunner();
    const { queue, queueName, worker, startWorker } = await setUp(blocker);
    const { job } = await queue.submit(TINY);
    await eventually(async () => ((await queue.get(job.id))?.status === 'running' ? true : undefined));
    await worker!.close(100);
    expect(await queue.get(job.id)).toMatchObject({ status: 'queued' });
    expect(await bullJob(queueName, job.id)).toMatchObject({ state: 'waiting', attemptsMade: 0 });
    await startWorker(instantRunner());
    expect(await queue.waitFor(job.id, 10_000)).toMatchObject({ status: 'succeeded' });
  });

  it('lets running jobs finish within the grace period of a shutdown', async () => {
    let release = () => {};
    const slow: PlanRunner = (request, hooks) =>
      new Promise<void>((resolve) => {
        release = resolve;
      }).then(() => instantRunner()(request, hooks));
    const { queue, worker } = await setUp(slow);
    const { job } = await queue.submit(TINY);
    await eventually(async () => ((await queue.get(job.id))?.status === 'running' ? true : undefined));
    const closing = worker!.close(10_000);
    setTimeout(() => release(), 200);
    await closing;
    expect(await queue.get(job.id)).toMatchObject({ status: 'succeeded' });
  });

  it('reports depth and readiness, and unreadiness (and unavailability) in bounded time when Redis is away', async () => {
    const { queue } = await setUp(null);
    for (let n = 0; n < 3; n++) await queue.submit(variant(n));
    expect(await queue.depth()).toBe(3);
    expect(await queue.ready()).toBe(true);
    const away = new BullJobQueue({
      redisUrl: 'redis://127.0.0.1:1',
      readyTimeoutMs: 200,
      onError: () => {},
    });
    const started = performance.now();
    expect(await away.ready()).toBe(false);
    expect(performance.now() - started).toBeLessThan(1000);
    // Never reached: a call waits for the first connection only briefly, then reports the store away.
    await expect(away.get('abc')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await away.close();
  });

  it('answers null for unknown ids', async () => {
    const { queue } = await setUp(null);
    expect(await queue.get('nope')).toBeNull();
    expect(await queue.waitFor('nope', 10)).toBeNull();
    expect(await queue.cancel('nope')).toBeNull();
    expect(await queue.getSweep('nope')).toBeNull();
  });
});
