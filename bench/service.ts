import autocannon from 'autocannon';
import { createMeshplanClient } from '../src/client/index.ts';
import { finalCount } from '../src/schema/jobs.ts';
import { writeResults } from './results-io.ts';
import { withService } from './service-processes.ts';

const TINY = {
  model: { kind: 'transformer', layers: 1, hidden: 256, heads: 4, vocab: 1024, seqLen: 128 },
  cluster: { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 2 },
  training: { globalBatch: 8 },
};

async function load(
  url: string,
  opts: { method: 'GET' | 'POST'; body?: string; seconds: number; connections: number },
) {
  const result = await autocannon({
    url,
    method: opts.method,
    ...(opts.body ? { body: opts.body, headers: { 'content-type': 'application/json' } } : {}),
    duration: opts.seconds,
    connections: opts.connections,
  });
  return {
    requestsPerSec: result.requests.average,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

/** The API under load (loopback only, bounded) and a 1,000-point sweep with two workers. */
export async function runService(): Promise<void> {
  await withService('bench', 2, async ({ url }) => {
    const client = createMeshplanClient(url);
    const first = await client.POST('/v1/plans', {
      body: TINY as never,
      params: { query: { wait: 30 } } as never,
    });
    const id = (first.data as { id: string }).id;
    const enqueue = await load(`${url}/v1/plans`, {
      method: 'POST',
      body: JSON.stringify(TINY),
      seconds: 10,
      connections: 10,
    });
    process.stdout.write(`POST /v1/plans (dedup hit): ${JSON.stringify(enqueue)}\n`);
    const get = await load(`${url}/v1/plans/${id}`, { method: 'GET', seconds: 10, connections: 10 });
    process.stdout.write(`GET /v1/plans/:id: ${JSON.stringify(get)}\n`);

    const started = performance.now();
    const batches = Array.from({ length: 1000 }, (_, i) => 8 * (i + 1));
    const sweep = await client.POST('/v1/sweeps', {
      body: { base: TINY, grid: { 'training.globalBatch': batches } } as never,
    });
    const sweepId = (sweep.data as { id: string }).id;
    let done = 0;
    while (performance.now() - started < 600_000) {
      const { data } = await client.GET('/v1/sweeps/{id}', { params: { path: { id: sweepId } } });
      done = finalCount(data?.counts ?? {});
      if (done >= 1000) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const sweepSec = (performance.now() - started) / 1000;
    process.stdout.write(`1,000-point sweep with 2 workers: ${sweepSec.toFixed(1)} s (${done} finished)\n`);
    writeResults('service', {
      targets: { enqueueP99Ms: 10, enqueueRequestsPerSec: 2000, getP99Ms: 5, sweep1000Sec: 60 },
      enqueueDedupHit: enqueue,
      getPlan: get,
      sweep1000: { seconds: sweepSec, finished: done, workers: 2 },
    });
  });
}
