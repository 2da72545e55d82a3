import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMeshplanClient } from '../../src/client/index.ts';
import { plan } from '../../src/planner/plan.ts';
import type { PlanRequestInput } from '../../src/schema/index.ts';
import { FINISHED, pollJob } from './poll.ts';
import { freePort, startMeshplan, stop, waitUntilReady } from './processes.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';

/** Small, distinct requests: each plans in well under a second. */
function request(i: number): PlanRequestInput {
  return {
    model: { kind: 'transformer', layers: 1 + (i % 5), hidden: 256, heads: 4, vocab: 1024, seqLen: 128 },
    cluster: { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 2 },
    training: { globalBatch: 8 * (1 + Math.floor(i / 5)) },
  };
}

async function expectSamePlans(
  client: ReturnType<typeof createMeshplanClient>,
  ids: string[],
  requests: PlanRequestInput[],
) {
  for (const [k, id] of ids.entries()) {
    const job = await pollJob(client, id, FINISHED, 120_000, 200);
    expect(job?.status).toBe('succeeded');
    const local = await plan(requests[k]);
    expect(job!.plan!.summary!.stepTimeSec).toBeCloseTo(local.summary!.stepTimeSec, 12);
    expect([job!.plan!.summary!.dp, job!.plan!.summary!.tp, job!.plan!.summary!.pp]).toEqual([
      local.summary!.dp,
      local.summary!.tp,
      local.summary!.pp,
    ]);
  }
}

async function runFlow(url: string, jobs: number, sweepPoints: [number[], number[]]) {
  const client = createMeshplanClient(url);
  const requests = Array.from({ length: jobs }, (_, i) => request(i));
  const ids: string[] = [];
  for (const body of requests) {
    const { data, response } = await client.POST('/v1/plans', { body: body as never });
    expect(response.status).toBe(202);
    ids.push(data!.id);
  }
  const [batches, layers] = sweepPoints;
  const { data: sweep, response } = await client.POST('/v1/sweeps', {
    body: { base: request(0), grid: { 'training.globalBatch': batches, 'model.layers': layers } } as never,
  });
  expect(response.status).toBe(202);
  await expectSamePlans(client, ids, requests);
  const deadline = Date.now() + 120_000;
  let rows = null;
  while (Date.now() < deadline) {
    const { data } = await client.GET('/v1/sweeps/{id}', { params: { path: { id: sweep!.id } } });
    if (
      data &&
      data.rows.length === batches.length * layers.length &&
      data.rows.every((r) => r.status === 'succeeded')
    ) {
      rows = data.rows;
      break;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  expect(rows).not.toBeNull();
  for (const row of rows!.slice(0, 4)) {
    const point = row.point as { 'training.globalBatch': number; 'model.layers': number };
    const base = request(0);
    const local = await plan({
      ...base,
      model: { ...base.model, layers: point['model.layers'] } as never,
      training: { globalBatch: point['training.globalBatch'] },
    });
    expect(row.stepTimeSec).toBeCloseTo(local.summary!.stepTimeSec, 12);
  }
}

describe('end to end with BullMQ: meshplan serve + two meshplan worker processes', () => {
  const queueName = `e2e-${process.pid}-${Date.now()}`;
  const env = { REDIS_URL, MESHPLAN_QUEUE: queueName };
  let url = '';
  const processes: ReturnType<typeof startMeshplan>[] = [];

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    processes.push(startMeshplan(['serve', '--port', String(port)], env));
    processes.push(startMeshplan(['worker', '--concurrency', '1'], env));
    processes.push(startMeshplan(['worker', '--concurrency', '1'], env));
    await waitUntilReady(url);
  });

  afterAll(async () => {
    await Promise.all(processes.map(stop));
    const queue = new Queue(queueName, { connection: { url: REDIS_URL } as never });
    await queue.obliterate({ force: true });
    await queue.close();
  });

  it('finishes 50 plans and a 20-point sweep with the plans the in-process planner returns', async () => {
    await runFlow(url, 50, [
      [8, 16, 24, 32, 40],
      [1, 2, 3, 4],
    ]);
  });

  it('cancels a running job within a second', async () => {
    const client = createMeshplanClient(url);
    const big = {
      model: { kind: 'transformer', layers: 96, hidden: 12288, heads: 96, vocab: 51200, seqLen: 2048 },
      cluster: { gpu: 'A100-80GB', nodes: 128, gpusPerNode: 8 },
      training: { globalBatch: 1536 },
      options: { timeLimitSec: 600 },
    };
    const { data } = await client.POST('/v1/plans', { body: big as never });
    const id = data!.id;
    expect((await pollJob(client, id, (s) => s === 'running', 30_000, 50))?.status).toBe('running');
    await client.DELETE('/v1/plans/{id}', { params: { path: { id } } });
    // Measured from the cancel: the solve must stop and be reported within a second.
    expect((await pollJob(client, id, (s) => s === 'cancelled', 1000, 50))?.status).toBe('cancelled');
  });
});

describe('end to end with the inline queue: meshplan serve alone', () => {
  let url = '';
  let server: ReturnType<typeof startMeshplan> | null = null;

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    const { REDIS_URL: _unused, ...env } = process.env;
    server = startMeshplan(['serve', '--port', String(port)], {
      ...(env as Record<string, string>),
      REDIS_URL: '',
    });
    await waitUntilReady(url);
  });

  afterAll(async () => {
    if (server) await stop(server);
  });

  it('finishes plans and a sweep with the same answers', async () => {
    await runFlow(url, 10, [
      [8, 16],
      [1, 2],
    ]);
  });
});

describe('meshplan sweep and the API event loop (inline queue)', () => {
  let url = '';
  let server: ReturnType<typeof startMeshplan> | null = null;

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = startMeshplan(['serve', '--port', String(port)], { REDIS_URL: '' });
    await waitUntilReady(url);
  });

  afterAll(async () => {
    if (server) await stop(server);
  });

  // The property is that solving never holds the API's event loop (a plan takes seconds): a pause of
  // 250 ms would show it, while the 2-core CI machine, running other test files at once, can delay
  // a healthy answer by tens of milliseconds. Latency targets are the service benchmark's.
  it('answers /healthz without a pause of 250 ms while a long plan is being solved', async () => {
    const client = createMeshplanClient(url);
    const big = {
      model: { kind: 'transformer', layers: 128, hidden: 25600, heads: 160, vocab: 51200, seqLen: 2048 },
      cluster: { gpu: 'A100-80GB', nodes: 384, gpusPerNode: 8 },
      training: { globalBatch: 3072 },
    };
    const { data } = await client.POST('/v1/plans', { body: big as never });
    await new Promise((r) => setTimeout(r, 500));
    const latencies: number[] = [];
    for (let i = 0; i < 20; i++) {
      const started = performance.now();
      const res = await fetch(`${url}/healthz`);
      latencies.push(performance.now() - started);
      expect(res.status).toBe(200);
      await new Promise((r) => setTimeout(r, 50));
    }
    const { data: job } = await client.GET('/v1/plans/{id}', { params: { path: { id: data!.id } } });
    expect(job?.status).toBe('running');
    expect(Math.max(...latencies)).toBeLessThan(250);
    await client.DELETE('/v1/plans/{id}', { params: { path: { id: data!.id } } });
  });

  it('meshplan sweep follows a sweep and prints its rows', async () => {
    const sweepFile = join(mkdtempSync(join(tmpdir(), 'meshplan-sweep-')), 'sweep.json');
    writeFileSync(sweepFile, JSON.stringify({ base: request(0), grid: { 'model.layers': [1, 2, 3] } }));
    const cli = startMeshplan(
      ['sweep', sweepFile, '--url', url, '--sort', 'stepTimeSec', '--poll-ms', '100'],
      {},
    );
    const code = await new Promise((resolve) => cli.once('exit', resolve));
    const out = cli.output.join('');
    expect(code).toBe(0);
    const lines = out.trim().split('\n');
    expect(lines[0]).toMatch(/model\.layers\s+status\s+dp\s+tp\s+pp\s+step s/);
    expect(lines).toHaveLength(4);
    // Sorted by step time, fastest first: one layer is the quickest model.
    expect(lines[1]!.trim().startsWith('1 ')).toBe(true);
  });

  it('meshplan sweep --frontier prints the non-dominated rows, best x first', async () => {
    const sweepFile = join(mkdtempSync(join(tmpdir(), 'meshplan-sweep-')), 'sweep.json');
    const grid = { 'cluster.gpusPerNode': [1, 2, 4] };
    writeFileSync(sweepFile, JSON.stringify({ base: request(0), grid }));
    const cli = startMeshplan(
      ['sweep', sweepFile, '--url', url, '--frontier', 'gpus,stepTimeSec', '--poll-ms', '100'],
      {},
    );
    const code = await new Promise((resolve) => cli.once('exit', resolve));
    expect(code).toBe(0);
    const [title, header, ...rows] = cli.output.join('').trim().split('\n');
    expect(title).toMatch(/^frontier over gpus \(min\), stepTimeSec \(min\): \d of 3 rows/);
    expect(header).toMatch(/cluster\.gpusPerNode\s+GPUs\s+Step time\s+dp\s+tp\s+pp/);
    const gpus = rows.map((row) => Number(row.trim().split(/\s+/)[1]));
    expect(gpus.length).toBeGreaterThan(0);
    expect(gpus).toEqual([...gpus].sort((a, b) => a - b));
  });
});
