import { afterEach, describe, expect, it } from 'vitest';
import { GPU_IDS } from '../../src/cluster/catalog.ts';
import type { MeshplanApp } from '../../src/http/app.ts';
import { expectProblem, SMALL_REQUEST, testApp } from './fixtures.ts';

let app: MeshplanApp | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

function setup() {
  const made = testApp();
  app = made.app;
  return made;
}

describe('catalog, probes, metrics and docs', () => {
  it('GET /v1/gpus lists the whole catalog with figures and sources', async () => {
    const { app } = setup();
    const response = await app.inject({ method: 'GET', url: '/v1/gpus' });
    expect(response.statusCode).toBe(200);
    const body = response.json() as { id: string; spec: { memoryBytes: number }; source: string }[];
    expect(body.map((gpu) => gpu.id)).toEqual(GPU_IDS);
    expect(body.find((gpu) => gpu.id === 'A100-80GB')?.spec.memoryBytes).toBe(80 * 2 ** 30);
  });

  it('GET /healthz is 200 without asking the queue, even when it is down', async () => {
    const { app, queue } = setup();
    queue.isReady = false;
    const response = await app.inject({ method: 'GET', url: '/healthz' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ status: 'ok' });
    expect(queue.calls).toEqual([]);
  });

  it('GET /readyz is 200 when the queue answers, a 503 problem when it does not or throws', async () => {
    const { app, queue } = setup();
    expect((await app.inject({ method: 'GET', url: '/readyz' })).json()).toEqual({ status: 'ready' });
    queue.isReady = false;
    expect(expectProblem(await app.inject({ method: 'GET', url: '/readyz' }), 503).code).toBe('NOT_READY');
    queue.ready = () => Promise.reject(new Error('ECONNREFUSED'));
    const thrown = await app.inject({ method: 'GET', url: '/readyz' });
    expectProblem(thrown, 503);
    expect(thrown.body).not.toMatch(/ECONNREFUSED/);
  });

  it('probes and scrapes still answer when the job store hangs', async () => {
    const { app, queue } = setup();
    queue.ready = () => new Promise(() => {});
    queue.depth = () => new Promise(() => {});
    const [ready, metrics] = await Promise.all([
      app.inject({ method: 'GET', url: '/readyz' }),
      app.inject({ method: 'GET', url: '/metrics' }),
    ]);
    expectProblem(ready, 503);
    expect(metrics.statusCode).toBe(200);
    expect(metrics.body).toContain('meshplan_queue_depth 0');
  });

  it('GET /metrics exposes request, duration, submission and queue-depth metrics', async () => {
    const { app } = setup();
    await app.inject({ method: 'POST', url: '/v1/plans', payload: SMALL_REQUEST });
    await app.inject({ method: 'POST', url: '/v1/plans', payload: SMALL_REQUEST });
    await app.inject({ method: 'GET', url: '/v1/plans/missing' });
    const response = await app.inject({ method: 'GET', url: '/metrics' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/plain/);
    const text = response.body;
    expect(text).toContain('meshplan_http_requests_total{method="POST",route="/v1/plans",status="202"} 1');
    expect(text).toContain('meshplan_http_requests_total{method="GET",route="/v1/plans/:id",status="404"} 1');
    expect(text).toMatch(/meshplan_http_request_duration_seconds_bucket\{le="0.005",method="POST"/);
    expect(text).toContain('meshplan_job_submissions_total{kind="plan",outcome="created"} 1');
    expect(text).toContain('meshplan_job_submissions_total{kind="plan",outcome="deduplicated"} 1');
    expect(text).toContain('meshplan_queue_depth 1');
    expect(text).toContain('meshplan_process_cpu_seconds_total');
  });

  it('GET /docs serves Swagger UI', async () => {
    const { app } = setup();
    const response = await app.inject({ method: 'GET', url: '/docs' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toMatch(/^text\/html/);
    expect(response.body).toContain('Swagger UI');
  });

  it('GET /openapi.json serves the document with every route', async () => {
    const { app } = setup();
    const response = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(response.statusCode).toBe(200);
    const doc = response.json() as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).sort()).toEqual([
      '/docs/',
      '/healthz',
      '/metrics',
      '/openapi.json',
      '/readyz',
      '/v1/calibrations',
      '/v1/calibrations/{id}',
      '/v1/estimates',
      '/v1/gpus',
      '/v1/plans',
      '/v1/plans/{id}',
      '/v1/plans/{id}/view',
      '/v1/sweeps',
      '/v1/sweeps/{id}',
      '/v1/sweeps/{id}/frontier',
      '/v1/sweeps/{id}/rows.csv',
      '/v1/sweeps/{id}/view',
    ]);
  });

  it('hides what a failing queue says behind a plain 500 problem', async () => {
    const { app, queue } = setup();
    queue.get = () => Promise.reject(new Error('redis://user:hunter2@db:6379 refused'));
    const response = await app.inject({ method: 'GET', url: '/v1/plans/job-1' });
    expectProblem(response, 500);
    expect(response.body).not.toMatch(/hunter2|redis/);
  });

  it('answers a submission during shutdown (QUEUE_CLOSED) with a 503 problem', async () => {
    const { app, queue } = setup();
    queue.submit = () =>
      Promise.reject(Object.assign(new Error('the job queue is closed'), { code: 'QUEUE_CLOSED' }));
    const response = await app.inject({ method: 'POST', url: '/v1/plans', payload: SMALL_REQUEST });
    expect(expectProblem(response, 503).code).toBe('QUEUE_CLOSED');
  });

  it('an unknown route is a 404 problem too', async () => {
    const { app } = setup();
    expect(expectProblem(await app.inject({ method: 'GET', url: '/v2/plans' }), 404).code).toBe(
      'ROUTE_NOT_FOUND',
    );
  });
});
