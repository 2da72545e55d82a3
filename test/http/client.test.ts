import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMeshplanClient } from '../../src/client/index.ts';
import { buildApp, type MeshplanApp } from '../../src/http/app.ts';
import { SMALL_REQUEST, samplePlan } from './fixtures.ts';
import { MemoryQueue } from './memory-queue.ts';

const queue = new MemoryQueue();
let app: MeshplanApp;
let baseUrl: string;

beforeAll(async () => {
  app = buildApp({ queue, apiKeys: ['secret'] });
  baseUrl = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(() => app.close());

describe('meshplan/client against a listening server', () => {
  it('submits, polls and reads a finished plan with typed calls', async () => {
    const client = createMeshplanClient(baseUrl, { apiKey: 'secret' });
    const submitted = await client.POST('/v1/plans', { body: SMALL_REQUEST });
    expect(submitted.response.status).toBe(202);
    const id = submitted.data!.id;
    queue.finish(id, await samplePlan());
    const { data } = await client.GET('/v1/plans/{id}', { params: { path: { id } } });
    expect(data?.status).toBe('succeeded');
    expect(data?.plan?.summary?.tp).toBe(2);
  });

  it('long-polls with a typed query parameter', async () => {
    const client = createMeshplanClient(baseUrl, { apiKey: 'secret' });
    const plan = await samplePlan();
    queue.onSubmit = (job) => setTimeout(() => queue.finish(job.id, plan), 20);
    const body = { ...SMALL_REQUEST, training: { ...SMALL_REQUEST.training, globalBatch: 16 } };
    const { data, response } = await client.POST('/v1/plans', { body, params: { query: { wait: 5 } } });
    expect(response.status).toBe(200);
    expect(data && 'plan' in data && data.plan?.status).toBe('optimal');
  });

  it('returns problems as `error`, with field paths', async () => {
    const client = createMeshplanClient(baseUrl, { apiKey: 'secret' });
    const { error, response } = await client.POST('/v1/estimates', {
      body: { ...SMALL_REQUEST, cluster: { ...SMALL_REQUEST.cluster, gpu: 'nope' } },
    });
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(error?.errors?.map((e) => e.path)).toEqual(['cluster.gpu']);
  });

  it('without the key gets a 401 problem', async () => {
    const { error, response } = await createMeshplanClient(baseUrl).GET('/v1/gpus');
    expect(response.status).toBe(401);
    expect(error?.code).toBe('UNAUTHORIZED');
  });

  it('reads the catalog and the sweep CSV', async () => {
    const client = createMeshplanClient(baseUrl, { apiKey: 'secret' });
    const gpus = await client.GET('/v1/gpus');
    expect(gpus.data?.map((gpu) => gpu.id)).toContain('H100-80GB');
    const sweep = await client.POST('/v1/sweeps', {
      body: { base: SMALL_REQUEST, grid: { 'training.globalBatch': [8, 16] } },
    });
    const csv = await client.GET('/v1/sweeps/{id}/rows.csv', {
      params: { path: { id: sweep.data!.id } },
      parseAs: 'text',
    });
    expect(csv.data?.split('\r\n')[0]).toMatch(/^jobId,status,planStatus,training\.globalBatch,/);
  });
});
