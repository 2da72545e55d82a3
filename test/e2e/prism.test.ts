/**
 * The checked-in OpenAPI document read by a validator that is not ours: Stoplight Prism's proxy sits
 * between these calls and a real `meshplan serve`, checks every request and answer against
 * openapi/openapi.json and, with `--errors`, turns any mismatch into an error response. The flows
 * touch every route and the answers people meet (plans queued, long-polled and deduplicated, an
 * infeasible estimate, sweeps, pages, 400/404/413 problems); the test knows no field of the schemas,
 * so fields added later are checked as they come.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startMeshplan, startPrismProxy, stop, waitUntilReady } from './processes.ts';

const DOCUMENT = new URL('../../openapi/openapi.json', import.meta.url).pathname;
/** Small, so a schema-valid body padded past it draws the server's 413. */
const BODY_LIMIT_BYTES = 64 * 1024;

interface Answer {
  readonly status: number;
  readonly contentType: string;
  readonly body: string;
}
interface Violation {
  readonly call: string;
  readonly status: number;
  readonly violations: unknown;
}

const small = (layers: number, globalBatch = 8) => ({
  model: { kind: 'transformer', layers, hidden: 256, heads: 4, vocab: 1024, seqLen: 128 },
  cluster: { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 2 },
  training: { globalBatch },
});

describe('Prism proxy in front of meshplan serve', () => {
  const processes: ReturnType<typeof startMeshplan>[] = [];
  const violations: Violation[] = [];
  const calls: string[] = [];
  let proxy = '';

  /** One call through the proxy; whatever Prism objects to is recorded, whatever the status. */
  async function call(method: string, path: string, body?: unknown): Promise<Answer> {
    const response = await fetch(`${proxy}${path}`, {
      method,
      ...(body === undefined
        ? {}
        : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
    });
    const text = await response.text();
    const answer = {
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      body: text,
    };
    const name = `${method} ${path.slice(0, 80)}`;
    calls.push(name);
    const header = response.headers.get('sl-violations');
    if (header !== null)
      violations.push({ call: name, status: answer.status, violations: JSON.parse(header) });
    else if (text.includes('stoplight.io/prism/errors')) {
      violations.push({ call: name, status: answer.status, violations: text });
    }
    return answer;
  }

  const json = <T>(answer: Answer): T => JSON.parse(answer.body) as T;

  async function pollUntil<T>(path: string, done: (value: T) => boolean): Promise<T> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const answer = await call('GET', path);
      const value = json<T>(answer);
      if (answer.status !== 200 || done(value) || Date.now() > deadline) return value;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  beforeAll(async () => {
    const [serverPort, proxyPort] = [await freePort(), await freePort()];
    const server = `http://127.0.0.1:${serverPort}`;
    processes.push(
      startMeshplan(['serve', '--port', String(serverPort)], {
        REDIS_URL: '',
        LOG_LEVEL: 'warn',
        MESHPLAN_MAX_BODY_BYTES: String(BODY_LIMIT_BYTES),
      }),
    );
    await waitUntilReady(server);
    processes.push(startPrismProxy(DOCUMENT, server, proxyPort));
    proxy = `http://127.0.0.1:${proxyPort}`;
    await waitUntilReady(proxy);
  });

  afterAll(async () => {
    await Promise.all(processes.map(stop));
  });

  // Statuses are soft checks: with `--errors` a violation also changes the status, and the list of
  // violations at the end says why.
  it('sees no violation in the end-to-end flows', async () => {
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs/', '/v1/gpus']) {
      expect.soft((await call('GET', path)).status, path).toBe(200);
    }

    // Estimates: priced, infeasible (a model far too large for two GPUs), and a 400 naming the field.
    const pinned = { ...small(2), parallel: { tp: 2, pp: 1, dp: 1, microBatch: 1 } };
    expect.soft((await call('POST', '/v1/estimates', pinned)).status).toBe(200);
    const huge = {
      ...pinned,
      model: { ...pinned.model, layers: 96, hidden: 12288, heads: 96, seqLen: 2048 },
    };
    const infeasible = await call('POST', '/v1/estimates', huge);
    expect
      .soft([infeasible.status, json<{ status: string }>(infeasible).status])
      .toEqual([200, 'infeasible']);
    const unknownGpu = await call('POST', '/v1/estimates', {
      ...pinned,
      cluster: { ...pinned.cluster, gpu: 'nope' },
    });
    expect
      .soft([unknownGpu.status, unknownGpu.contentType])
      .toEqual([400, expect.stringMatching(/problem\+json/)]);

    // Plans: queued and polled, long-polled, deduplicated, cancelled; the page of a finished one.
    const queued = await call('POST', '/v1/plans', small(1));
    expect.soft(queued.status).toBe(202);
    const id = json<{ id: string }>(queued).id;
    const done = await pollUntil<{ status: string }>(`/v1/plans/${id}`, (job) => job.status === 'succeeded');
    expect.soft(done.status).toBe('succeeded');
    expect.soft((await call('POST', '/v1/plans', small(1))).status).toBe(200);
    expect.soft((await call('POST', '/v1/plans?wait=30', small(2))).status).toBe(200);
    const page = await call('GET', `/v1/plans/${id}/view`);
    expect.soft([page.status, page.contentType]).toEqual([200, expect.stringMatching(/^text\/html/)]);
    expect.soft((await call('DELETE', `/v1/plans/${id}`)).status).toBe(200);
    const big = { ...huge, parallel: undefined, cluster: { gpu: 'A100-80GB', nodes: 16, gpusPerNode: 8 } };
    const bigJob = json<{ id: string }>(
      await call('POST', '/v1/plans', { ...big, training: { globalBatch: 512 } }),
    );
    expect
      .soft(json<{ status: string }>(await call('DELETE', `/v1/plans/${bigJob.id}`)).status)
      .toBe('cancelled');
    expect.soft((await call('POST', '/v1/plans?wait=3600', small(3))).status).toBe(400);

    // Sweeps: the JSON (sorted), the CSV and the page.
    const sweep = await call('POST', '/v1/sweeps', { base: small(1), grid: { 'model.layers': [1, 2] } });
    expect.soft(sweep.status).toBe(202);
    const sweepId = json<{ id: string }>(sweep).id;
    const finished = await pollUntil<{ rows: { status: string }[] }>(
      `/v1/sweeps/${sweepId}?sort=tokensPerSec`,
      (s) => s.rows.every((row) => row.status === 'succeeded'),
    );
    expect.soft(finished.rows.map((row) => row.status)).toEqual(['succeeded', 'succeeded']);
    const csv = await call('GET', `/v1/sweeps/${sweepId}/rows.csv?sort=stepTimeSec`);
    expect.soft([csv.status, csv.contentType]).toEqual([200, expect.stringMatching(/^text\/csv/)]);
    expect.soft((await call('GET', `/v1/sweeps/${sweepId}/view`)).status).toBe(200);

    // Unknown ids and a body over the server's limit.
    for (const [method, path] of [
      ['GET', '/v1/plans/nope'],
      ['DELETE', '/v1/plans/nope'],
      ['GET', '/v1/plans/nope/view'],
      ['GET', '/v1/sweeps/nope'],
      ['GET', '/v1/sweeps/nope/rows.csv'],
      ['GET', '/v1/sweeps/nope/view'],
    ] as const) {
      expect.soft((await call(method, path)).status, `${method} ${path}`).toBe(404);
    }
    // Prism re-serialises the bodies it forwards, so padding would vanish: a valid grid (at most
    // 10,000 values a path) of long numbers is what exceeds the limit.
    const wide = { base: small(1), grid: { 'training.globalBatch': Array(10_000).fill(1_000_000_000) } };
    expect.soft((await call('POST', '/v1/sweeps', wide)).status).toBe(413);

    expect(violations).toEqual([]);
    expect(calls.length).toBeGreaterThan(25);
  });
});
