import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_BODY_LIMIT_BYTES, type MeshplanApp } from '../../src/http/app.ts';
import { errorAt, expectProblem, SMALL_REQUEST, samplePlan, testApp } from './fixtures.ts';

let app: MeshplanApp | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

function setup(options: Parameters<typeof testApp>[0] = {}) {
  const made = testApp(options);
  app = made.app;
  return made;
}

describe('POST /v1/plans', () => {
  it('queues a new request: 202 with the id, status and a link to poll', async () => {
    const { app } = setup();
    const response = await app.inject({ method: 'POST', url: '/v1/plans', payload: SMALL_REQUEST });
    expect(response.statusCode).toBe(202);
    const body = response.json();
    expect(body).toEqual({
      id: 'job-1',
      status: 'queued',
      links: { self: '/v1/plans/job-1', view: '/v1/plans/job-1/view' },
    });
    expect(response.headers.location).toBe('/v1/plans/job-1');
  });

  it('answers an identical request with 200 and the existing job, not a second job', async () => {
    const { app, queue } = setup();
    await app.inject({ method: 'POST', url: '/v1/plans', payload: SMALL_REQUEST });
    const again = await app.inject({ method: 'POST', url: '/v1/plans', payload: SMALL_REQUEST });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ id: 'job-1', status: 'queued', plan: null });
    expect(await queue.depth()).toBe(1);
  });

  it('adds links.view when the server has a view URL template', async () => {
    const { app } = setup({ viewUrlTemplate: 'https://ui.example/plans/{id}' });
    const response = await app.inject({ method: 'POST', url: '/v1/plans', payload: SMALL_REQUEST });
    expect(response.json()).toMatchObject({ links: { view: 'https://ui.example/plans/job-1' } });
  });

  it('with ?wait returns the finished job inline (200) when it finishes in time', async () => {
    const { app, queue } = setup();
    const plan = await samplePlan();
    queue.onSubmit = (job) => setTimeout(() => queue.finish(job.id, plan), 20);
    const response = await app.inject({ method: 'POST', url: '/v1/plans?wait=5', payload: SMALL_REQUEST });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id: 'job-1', status: 'succeeded', plan: { status: 'optimal' } });
    expect(queue.calls).toContain('waitFor:5000');
  });

  it('with ?wait answers 202 as usual when the job is still running at the deadline', async () => {
    const { app, queue } = setup();
    const response = await app.inject({ method: 'POST', url: '/v1/plans?wait=0.05', payload: SMALL_REQUEST });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ id: 'job-1', status: 'queued' });
    expect(queue.calls).toContain('waitFor:50');
  });

  it('ends a long-poll at once when the server closes', async () => {
    const { app } = setup();
    const started = Date.now();
    const pending = app.inject({ method: 'POST', url: '/v1/plans?wait=60', payload: SMALL_REQUEST });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await app.close();
    expect((await pending).statusCode).toBe(202);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it.each(['61', '-1', 'soon'])('rejects ?wait=%s with a 400 naming `wait`', async (wait) => {
    const { app, queue } = setup();
    const response = await app.inject({
      method: 'POST',
      url: `/v1/plans?wait=${wait}`,
      payload: SMALL_REQUEST,
    });
    errorAt(expectProblem(response, 400), 'wait');
    expect(queue.calls).not.toContain('submit');
  });

  it('names a misspelt field by its dotted path', async () => {
    const { app } = setup();
    const payload = { ...SMALL_REQUEST, training: { globalBatch: 8, microBtach: 1 } };
    const problem = expectProblem(await app.inject({ method: 'POST', url: '/v1/plans', payload }), 400);
    expect(errorAt(problem, 'training.microBtach').message).toMatch(/unknown field/);
    expect(problem.code).toBe('INVALID_INPUT');
  });

  it('names a field of the wrong type by its dotted path', async () => {
    const { app } = setup();
    const payload = { ...SMALL_REQUEST, cluster: { ...SMALL_REQUEST.cluster, nodes: 'one' } };
    const problem = expectProblem(await app.inject({ method: 'POST', url: '/v1/plans', payload }), 400);
    expect(errorAt(problem, 'cluster.nodes').message).toMatch(/number/);
  });

  it('rejects an unknown GPU at submission (cluster.gpu) instead of queueing a job that must fail', async () => {
    const { app, queue } = setup();
    const payload = { ...SMALL_REQUEST, cluster: { ...SMALL_REQUEST.cluster, gpu: 'B9000' } };
    const problem = expectProblem(await app.inject({ method: 'POST', url: '/v1/plans', payload }), 400);
    expect(errorAt(problem, 'cluster.gpu').message).toMatch(/unknown GPU "B9000"/);
    expect(queue.calls).not.toContain('submit');
  });

  it.each([
    ['null', 'null'],
    ['an array', '[]'],
    ['a string', '"plan please"'],
    ['a number', '42'],
    ['malformed JSON', '{"model":'],
    ['deep nonsense', JSON.stringify({ model: { kind: 'graph', graph: { tensors: [{}], ops: [null] } } })],
  ])('answers %s with a 400 problem, never a 500', async (_what, payload) => {
    const { app } = setup();
    const response = await app.inject({
      method: 'POST',
      url: '/v1/plans',
      payload,
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(response, 400);
  });

  it('accepts bodies up to 8 MiB by default', async () => {
    const { app } = setup();
    const payload = `{"pad":"${'x'.repeat(DEFAULT_BODY_LIMIT_BYTES)}"}`;
    const response = await app.inject({
      method: 'POST',
      url: '/v1/plans',
      payload,
      headers: { 'content-type': 'application/json' },
    });
    expectProblem(response, 413);
    const justUnder = `{"pad":"${'x'.repeat(DEFAULT_BODY_LIMIT_BYTES - 20)}"}`;
    const parsed = await app.inject({
      method: 'POST',
      url: '/v1/plans',
      payload: justUnder,
      headers: { 'content-type': 'application/json' },
    });
    // Read and parsed, then rejected for what it says, not for its size.
    expect(errorAt(expectProblem(parsed, 400), 'pad').message).toMatch(/unknown field/);
  });

  it('answers a body over a configured limit with 413', async () => {
    const { app, queue } = setup({ bodyLimitBytes: 1024 });
    const payload = { ...SMALL_REQUEST, model: { ...SMALL_REQUEST.model, name: 'x'.repeat(2000) } };
    const problem = expectProblem(await app.inject({ method: 'POST', url: '/v1/plans', payload }), 413);
    expect(problem.detail).toMatch(/1024 bytes/);
    expect(queue.calls).toEqual([]);
  });
});

describe('GET and DELETE /v1/plans/:id', () => {
  it('returns the job with status, progress, plan and error', async () => {
    const { app, queue } = setup();
    await app.inject({ method: 'POST', url: '/v1/plans', payload: SMALL_REQUEST });
    queue.finish('job-1', await samplePlan());
    const response = await app.inject({ method: 'GET', url: '/v1/plans/job-1' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({
      id: 'job-1',
      status: 'succeeded',
      progress: { phase: 'done', fraction: 1 },
      plan: { status: 'optimal', summary: { tp: 2, pp: 1, dp: 1 } },
      error: null,
    });
    // A second read of a succeeded job is served from the cache: the same JSON, typed as JSON.
    const again = await app.inject({ method: 'GET', url: '/v1/plans/job-1' });
    expect(again.statusCode).toBe(200);
    expect(again.headers['content-type']).toMatch(/^application\/json/);
    expect(again.json()).toEqual(response.json());
  });

  it('cancels a job and returns it', async () => {
    const { app } = setup();
    await app.inject({ method: 'POST', url: '/v1/plans', payload: SMALL_REQUEST });
    const response = await app.inject({ method: 'DELETE', url: '/v1/plans/job-1' });
    expect(response.statusCode).toBe(200);
    expect(response.json()).toMatchObject({ id: 'job-1', status: 'cancelled' });
    const after = await app.inject({ method: 'GET', url: '/v1/plans/job-1' });
    expect(after.json()).toMatchObject({ status: 'cancelled' });
  });

  it.each(['GET', 'DELETE'] as const)('%s of an unknown id is a 404 problem', async (method) => {
    const { app } = setup();
    const problem = expectProblem(await app.inject({ method, url: '/v1/plans/nope' }), 404);
    expect(problem.detail).toMatch(/no plan with id "nope"/);
  });
});

describe('API keys', () => {
  it('requires a configured key on /v1 and leaves the probes open', async () => {
    const { app } = setup({ apiKeys: ['k1', 'k2'] });
    const anonymous = await app.inject({ method: 'GET', url: '/v1/gpus' });
    expectProblem(anonymous, 401);
    expect(anonymous.headers['www-authenticate']).toBe('Bearer');
    expectProblem(
      await app.inject({ method: 'GET', url: '/v1/gpus', headers: { authorization: 'Bearer k3' } }),
      401,
    );
    const keyed = await app.inject({
      method: 'GET',
      url: '/v1/gpus',
      headers: { authorization: 'Bearer k2' },
    });
    expect(keyed.statusCode).toBe(200);
    expect((await app.inject({ method: 'GET', url: '/healthz' })).statusCode).toBe(200);
  });
});
