/**
 * The inline queue: real plans on worker threads (checked against plan() run in this process), and the
 * queue mechanics (FIFO, concurrency, dedup, cancel) with stand-in runners.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { plan } from '../../src/planner/plan.ts';
import { InlineJobQueue } from '../../src/queue/inline-queue.ts';
import { type PlanRunner, PlanThreadPool } from '../../src/queue/plan-thread-pool.ts';
import type { Plan, PlanJob } from '../../src/schema/index.ts';
import {
  blockingRunner,
  cpuMsDuring,
  eventually,
  instantRunner,
  LONG,
  longestStallMs,
  TINY,
  UNKNOWN_GPU,
  variant,
} from './helpers.ts';

/** Waits until the job is running and its thread has reported planner progress (it is solving). */
async function solving(queue: InlineJobQueue, id: string): Promise<PlanJob> {
  return eventually(async () => {
    const job = await queue.get(id);
    return job?.status === 'running' && job.progress.phase !== 'starting' ? job : undefined;
  });
}

describe('InlineJobQueue with worker threads', () => {
  // One pool for the file: a thread loads the planner once and later tests reuse it.
  const pool = new PlanThreadPool({ maxIdle: 2 });
  let calls = 0;
  const runner: typeof pool.run = (request, hooks) => {
    calls += 1;
    return pool.run(request, hooks);
  };
  let inProcess: Plan;

  beforeAll(async () => {
    inProcess = await plan(TINY);
  });
  afterAll(() => pool.close());

  it('plans a small job to the same summary as plan() in process, and deduplicates it', async () => {
    const queue = new InlineJobQueue({ runner, concurrency: 1 });
    const first = await queue.submit(TINY);
    expect(first.created).toBe(true);
    expect(['queued', 'running']).toContain(first.job.status);
    const again = await queue.submit(structuredClone(TINY));
    expect(again).toMatchObject({ created: false, job: { id: first.job.id } });

    const done = await queue.waitFor(first.job.id, 30_000);
    expect(done).toMatchObject({
      status: 'succeeded',
      error: null,
      progress: { phase: 'done', fraction: 1 },
    });
    expect(done!.plan!.status).toBe(inProcess.status);
    expect(done!.plan!.summary).toEqual(inProcess.summary);
    expect(Date.parse(done!.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(done!.startedAt!));
    // A finished job is an answer: asking again returns it.
    expect(await queue.submit(TINY)).toMatchObject({ created: false, job: { status: 'succeeded' } });
    await queue.close();
  });

  it('fails bad input with a problem naming the field, once, and keeps that answer', async () => {
    const queue = new InlineJobQueue({ runner, concurrency: 1 });
    const before = calls;
    const { job } = await queue.submit(UNKNOWN_GPU);
    const done = await queue.waitFor(job.id, 30_000);
    expect(done).toMatchObject({
      status: 'failed',
      plan: null,
      error: { status: 400, code: 'INVALID_INPUT', errors: [{ path: 'cluster.gpu' }] },
    });
    expect(done!.error!.errors![0]!.message).toMatch(/unknown GPU "H900"/);
    expect(await queue.submit(UNKNOWN_GPU)).toMatchObject({ created: false, job: { status: 'failed' } });
    expect(calls - before).toBe(1);
    await queue.close();
  });

  it('keeps the event loop ticking (no pause of 250 ms) while a plan solves', async () => {
    const queue = new InlineJobQueue({ runner, concurrency: 1 });
    // Closed however the test ends: a solve left running would skew the next test's CPU count.
    try {
      const { job } = await queue.submit(LONG);
      await solving(queue, job.id);
      const stallMs = await longestStallMs(() => new Promise((resolve) => setTimeout(resolve, 1500)));
      expect((await queue.get(job.id))!.status).toBe('running');
      // A solve on the event loop would stall it for the whole window; a loaded 2-core machine
      // (the real-process tests run beside this file) can deschedule it for some tens of ms.
      expect(stallMs).toBeLessThan(250);
    } finally {
      await queue.close();
    }
  });

  it('cancels a running plan within 1 s, and its thread stops solving', async () => {
    const queue = new InlineJobQueue({ runner, concurrency: 1 });
    const { job } = await queue.submit(LONG);
    await solving(queue, job.id);
    const started = performance.now();
    const cancelled = await queue.cancel(job.id);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(cancelled).toMatchObject({ status: 'cancelled', plan: null });
    expect(await queue.depth()).toBe(0);
    // A solve still running in a thread would burn about a CPU-second per second.
    expect(await cpuMsDuring(1000)).toBeLessThan(300);
    await queue.close();
  });

  it('runs a sweep of 4 points to 4 filled rows', async () => {
    const queue = new InlineJobQueue({ runner, concurrency: 2 });
    const sweep = await queue.submitSweep({
      base: TINY,
      grid: { 'cluster.nodes': [1, 2], 'training.globalBatch': [16, 32] },
    });
    expect(sweep.points).toBe(4);
    const done = await eventually(async () => {
      const latest = await queue.getSweep(sweep.id);
      return latest?.counts.succeeded === 4 ? latest : undefined;
    }, 40_000);
    expect(done.rows).toHaveLength(4);
    expect(done.rows.map((row) => row.point)).toEqual([
      { 'cluster.nodes': 1, 'training.globalBatch': 16 },
      { 'cluster.nodes': 1, 'training.globalBatch': 32 },
      { 'cluster.nodes': 2, 'training.globalBatch': 16 },
      { 'cluster.nodes': 2, 'training.globalBatch': 32 },
    ]);
    for (const row of done.rows) {
      expect(row.status).toBe('succeeded');
      expect(row.planStatus).toBe('optimal');
      expect(row.stepTimeSec).toBeGreaterThan(0);
      expect(row.dp! * row.tp! * row.pp!).toBe(8 * (row.point['cluster.nodes'] as number));
    }
    // The base point is the plain request: the sweep shares its job.
    expect(done.rows[0]!.jobId).toBe((await queue.submit(TINY)).job.id);
    expect((await queue.get(done.rows[1]!.jobId))!.sweepId).toBe(sweep.id);
    await queue.close();
  });
});

describe('InlineJobQueue mechanics', () => {
  it('runs at most `concurrency` jobs, first in first out', async () => {
    const runner = blockingRunner();
    const queue = new InlineJobQueue({ runner, concurrency: 2 });
    const ids = [];
    for (let n = 0; n < 4; n++) ids.push((await queue.submit(variant(n))).job.id);
    expect(runner.started.map((r) => r.training.globalBatch)).toEqual([16, 32]);
    expect(await queue.depth()).toBe(4);
    expect((await queue.get(ids[2]!))!.status).toBe('queued');
    await queue.cancel(ids[0]!);
    expect(runner.started.map((r) => r.training.globalBatch)).toEqual([16, 32, 48]);
    await queue.cancel(ids[1]!);
    expect(runner.started.map((r) => r.training.globalBatch)).toEqual([16, 32, 48, 64]);
    await queue.close();
  });

  it('cancels a queued job without running it, and a resubmission starts it again', async () => {
    const blocker = blockingRunner();
    const queue = new InlineJobQueue({ runner: blocker, concurrency: 1 });
    await queue.submit(variant(0));
    const { job } = await queue.submit(variant(1));
    expect(await queue.cancel(job.id)).toMatchObject({ status: 'cancelled', startedAt: null });
    expect(await queue.waitFor(job.id, 10_000)).toMatchObject({ status: 'cancelled' });
    expect(blocker.started).toHaveLength(1);
    const again = await queue.submit(variant(1));
    expect(again).toMatchObject({ created: true, job: { id: job.id, status: 'queued' } });
    await queue.close();
  });

  it('answers an infeasible plan as a succeeded job, and returns a finished job from cancel unchanged', async () => {
    const queue = new InlineJobQueue({ runner: instantRunner() });
    const { job } = await queue.submit(TINY);
    const done = await queue.waitFor(job.id, 10_000);
    expect(done).toMatchObject({ status: 'succeeded', plan: { status: 'infeasible' }, error: null });
    expect(await queue.cancel(job.id)).toEqual(done);
    await queue.close();
  });

  it('answers null for unknown ids and waitFor returns the live job at its timeout', async () => {
    const queue = new InlineJobQueue({ runner: blockingRunner() });
    expect(await queue.get('nope')).toBeNull();
    expect(await queue.waitFor('nope', 10)).toBeNull();
    expect(await queue.cancel('nope')).toBeNull();
    expect(await queue.getSweep('nope')).toBeNull();
    const { job } = await queue.submit(TINY);
    const started = performance.now();
    expect(await queue.waitFor(job.id, 100)).toMatchObject({ status: 'running' });
    expect(performance.now() - started).toBeGreaterThanOrEqual(95);
    await queue.close();
    expect((await queue.get(job.id))!.status).toBe('cancelled');
    expect(await queue.ready()).toBe(false);
    await expect(queue.submit(TINY)).rejects.toMatchObject({
      name: 'QueueClosedError',
      code: 'QUEUE_CLOSED',
    });
  });

  it('drains for a shutdown: takes no new jobs but finishes the running and queued ones', async () => {
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const gated: PlanRunner = async (request, hooks) => {
      await gate;
      return instantRunner()(request, hooks);
    };
    const queue = new InlineJobQueue({ runner: gated, concurrency: 1 });
    const running = (await queue.submit(variant(1))).job;
    const queued = (await queue.submit(variant(2))).job;
    const draining = queue.drain(10_000);
    expect(await queue.ready()).toBe(false);
    await expect(queue.submit(variant(3))).rejects.toMatchObject({ code: 'QUEUE_CLOSED' });
    expect((await queue.get(queued.id))!.status).toBe('queued');
    release();
    await draining;
    expect((await queue.get(running.id))!.status).toBe('succeeded');
    expect((await queue.get(queued.id))!.status).toBe('succeeded');
    await queue.close();
  });

  it('drains for at most its timeout; closing then cancels what is left', async () => {
    const queue = new InlineJobQueue({ runner: blockingRunner(), concurrency: 1 });
    const { job } = await queue.submit(TINY);
    const started = performance.now();
    await queue.drain(100);
    expect(performance.now() - started).toBeLessThan(5000);
    expect((await queue.get(job.id))!.status).toBe('running');
    await queue.close();
    expect((await queue.get(job.id))!.status).toBe('cancelled');
  });

  it('rejects a request the schema refuses before queueing anything', async () => {
    const queue = new InlineJobQueue({ runner: instantRunner() });
    const bad = { ...TINY, cluster: { ...TINY.cluster, nodes: 0 } };
    await expect(queue.submit(bad)).rejects.toMatchObject({
      name: 'InvalidInputError',
      issues: [{ path: 'cluster.nodes' }],
    });
    expect(await queue.depth()).toBe(0);
    await queue.close();
  });
});
