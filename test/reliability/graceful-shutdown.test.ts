/**
 * SIGTERM to real `meshplan serve` and `meshplan worker` processes: nothing accepted is lost. The
 * inline queue's jobs live in the API process, so it drains them (bounded by MESHPLAN_DRAIN_SEC)
 * before it exits; a worker drains for --drain-sec and puts what is left back in the queue; an API on
 * BullMQ has nothing to drain, its jobs wait in Redis for the next API.
 */
import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { createMeshplanClient } from '../../src/client/index.ts';
import { FINISHED, pollJob } from '../e2e/poll.ts';
import { freePort, startMeshplan, stop, waitUntilReady } from '../e2e/processes.ts';
import {
  type Child,
  expectEachFinishedOnce,
  expectProblem,
  isRunning,
  QUICK_PLAN,
  quickPlan,
  slowPlan,
  waitForOutput,
  waitForStatus,
} from './helpers.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';

/** Sends SIGTERM and resolves with the exit code and how long the exit took; fails past `timeoutMs`. */
async function terminate(child: Child, timeoutMs: number): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  const exited = isRunning(child)
    ? new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    : Promise.resolve(child.exitCode);
  child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no exit within ${timeoutMs} ms:\n${child.output.join('')}`)),
      timeoutMs,
    );
  });
  try {
    return { code: await Promise.race([exited, late]), ms: Date.now() - started };
  } finally {
    clearTimeout(timer);
  }
}

/** A POST /v1/plans?wait= long-poll, answered as status and body (a reset connection rejects). */
async function longPoll(url: string, body: unknown, waitSec: number) {
  const response = await fetch(`${url}/v1/plans?wait=${waitSec}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const type = response.headers.get('content-type') ?? '';
  return { status: response.status, type, body: (await response.json()) as Record<string, unknown> };
}

/** How many submissions the API has counted with this outcome: a long-poll counts once it waits. */
async function submissions(url: string, outcome: 'created' | 'deduplicated'): Promise<number> {
  const metrics = await (await fetch(`${url}/metrics`)).text();
  const line = metrics
    .split('\n')
    .find((l) => l.startsWith(`meshplan_job_submissions_total{kind="plan",outcome="${outcome}"}`));
  return line === undefined ? 0 : Number(line.split(' ').pop());
}

async function until(what: string, probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function submit(client: ReturnType<typeof createMeshplanClient>, body: unknown): Promise<string> {
  const { data, response } = await client.POST('/v1/plans', { body: body as never });
  expect(response.status).toBe(202);
  return data!.id;
}

describe('SIGTERM to an API with the inline queue (no REDIS_URL)', () => {
  const processes: Child[] = [];
  afterAll(async () => {
    await Promise.all(processes.map(stop));
  });

  it('drains: long-polls in flight get their plans, new jobs get 503, then it exits 0', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const api = startMeshplan(['serve', '--port', String(port)], {
      MESHPLAN_DRAIN_SEC: '60',
      LOG_LEVEL: 'warn',
    });
    processes.push(api);
    await waitUntilReady(url);
    const client = createMeshplanClient(url);

    // One solving for seconds, two queued behind it (one plan at a time on 2 cores).
    const bodies = [slowPlan(4608), quickPlan(768), quickPlan(1024)];
    const ids: string[] = [];
    for (const body of bodies) ids.push(await submit(client, body));
    await waitForStatus(client, ids[0]!, 'running', 30_000);
    const polls = bodies.map((body) => longPoll(url, body, 60));
    // Each long-poll is counted as a deduplicated submission just before it starts waiting.
    await until('long-polls waiting', async () => (await submissions(url, 'deduplicated')) >= 3, 30_000);
    expect((await client.GET('/v1/plans/{id}', { params: { path: { id: ids[0]! } } })).data?.status).toBe(
      'running',
    );

    const exit = terminate(api, 90_000);
    // Draining: not ready, no new jobs (a 503 problem), still alive and answering reads.
    await until('draining', async () => (await fetch(`${url}/readyz`)).status === 503, 10_000);
    const refused = await fetch(`${url}/v1/plans`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(QUICK_PLAN),
    });
    await expectProblem(refused, 503, 'QUEUE_CLOSED');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);

    const answers = await Promise.all(polls);
    for (const answer of answers) {
      expect(answer).toMatchObject({ status: 200, body: { status: 'succeeded' } });
      expect(answer.type).toMatch(/^application\/json/);
      expect((answer.body.plan as { status?: string } | null)?.status).toBe('optimal');
    }
    expect((await exit).code).toBe(0);
    // Gone: a new connection is refused.
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  }, 120_000);

  it('drains for at most MESHPLAN_DRAIN_SEC: a long-poll still gets a complete answer, exit 0', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const api = startMeshplan(['serve', '--port', String(port)], {
      MESHPLAN_DRAIN_SEC: '1',
      LOG_LEVEL: 'warn',
    });
    processes.push(api);
    await waitUntilReady(url);
    const client = createMeshplanClient(url);
    const id = await submit(client, slowPlan(3072));
    await waitForStatus(client, id, 'running', 30_000);
    const poll = longPoll(url, slowPlan(3072), 60);
    await until('long-poll waiting', async () => (await submissions(url, 'deduplicated')) >= 1, 30_000);

    const exit = await terminate(api, 30_000);
    expect(exit.code).toBe(0);
    // It drained for the whole second (the job could not finish in it), then stopped promptly: well
    // before the forced exit at drain + 5 s, which would have exited 1.
    expect(exit.ms).toBeGreaterThanOrEqual(900);
    expect(exit.ms).toBeLessThan(4000);
    // Cut short by the drain's end: the (known, hence 200) job as it was then, never a reset.
    expect(await poll).toMatchObject({ status: 200, body: { id, status: 'running' } });
  }, 90_000);
});

describe('SIGTERM to workers and the API on BullMQ', () => {
  const queueName = `shutdown-${process.pid}-${Date.now()}`;
  const env = { REDIS_URL, MESHPLAN_QUEUE: queueName, LOG_LEVEL: 'warn' };
  const processes: Child[] = [];
  const workerOutputs: Child[] = [];
  let url = '';
  let client = createMeshplanClient('http://127.0.0.1:1');
  const ids: string[] = [];

  const startWorker = async (drainSec: number): Promise<Child> => {
    const worker = startMeshplan(
      ['worker', '--concurrency', '1', '--lock-sec', '2', '--drain-sec', String(drainSec)],
      env,
    );
    processes.push(worker);
    workerOutputs.push(worker);
    await waitForOutput(worker, /taking jobs/, 30_000);
    return worker;
  };
  const startApi = async (): Promise<Child> => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const api = startMeshplan(['serve', '--port', String(port)], env);
    processes.push(api);
    await waitUntilReady(url);
    client = createMeshplanClient(url);
    return api;
  };
  const bullJob = async (id: string) => {
    const queue = new Queue(queueName, { connection: { url: REDIS_URL } as never });
    try {
      const job = await queue.getJob(id);
      return { state: await job?.getState(), attemptsMade: job?.attemptsMade };
    } finally {
      await queue.close();
    }
  };

  afterAll(async () => {
    await Promise.all(processes.map(stop));
    const queue = new Queue(queueName, { connection: { url: REDIS_URL } as never });
    await queue.obliterate({ force: true });
    await queue.close();
  });

  it('a worker with a long enough --drain-sec finishes its job before it exits', async () => {
    await startApi();
    const worker = await startWorker(60);
    const id = await submit(client, slowPlan(2304));
    ids.push(id);
    await waitForStatus(client, id, 'running', 30_000);
    expect((await terminate(worker, 90_000)).code).toBe(0);
    // No other worker exists: this one finished it.
    expect(worker.output.join('')).toContain(`job ${id} succeeded`);
    expect(await bullJob(id)).toMatchObject({ state: 'completed', attemptsMade: 1 });
  }, 120_000);

  it('a worker with a short drain puts its job back, no attempt spent, and another finishes it', async () => {
    const worker = await startWorker(0);
    const id = await submit(client, slowPlan(3840));
    ids.push(id);
    await waitForStatus(client, id, 'running', 30_000);
    expect((await terminate(worker, 30_000)).code).toBe(0);
    expect(await bullJob(id)).toMatchObject({ state: 'waiting', attemptsMade: 0 });
    expect((await client.GET('/v1/plans/{id}', { params: { path: { id } } })).data?.status).toBe('queued');

    const next = await startWorker(60);
    expect((await pollJob(client, id, FINISHED, 60_000))?.status).toBe('succeeded');
    expect(next.output.join('')).toContain(`job ${id} succeeded`);
    expect(await bullJob(id)).toMatchObject({ state: 'completed', attemptsMade: 1 });
    expect((await terminate(next, 30_000)).code).toBe(0);
  }, 120_000);

  it('an API stopped with jobs queued loses none: the next API finds them and they succeed', async () => {
    const api = processes.find((child) => child.spawnargs.includes('serve') && isRunning(child))!;
    const queued = [quickPlan(768), quickPlan(1024)];
    for (const body of queued) ids.push(await submit(client, body));
    // A long-poll in flight gets a complete answer (the job, still queued) rather than a reset.
    const poll = longPoll(url, queued[0], 60);
    await until('long-poll waiting', async () => (await submissions(url, 'deduplicated')) >= 1, 30_000);
    expect((await terminate(api, 30_000)).code).toBe(0);
    expect(await poll).toMatchObject({ status: 200, body: { status: 'queued' } });

    await startApi();
    for (const id of ids.slice(-2)) {
      const { data } = await client.GET('/v1/plans/{id}', { params: { path: { id } } });
      expect(data?.status).toBe('queued');
    }
    await startWorker(60);
    for (const id of ids) expect((await pollJob(client, id, FINISHED, 60_000))?.status).toBe('succeeded');

    await expectEachFinishedOnce(queueName, REDIS_URL, workerOutputs, ids);
  }, 120_000);
});
