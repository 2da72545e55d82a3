import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { createMeshplanClient } from '../../src/client/index.ts';
import { FINISHED, pollJob } from '../e2e/poll.ts';
import { freePort, startMeshplan, stop, waitUntilReady } from '../e2e/processes.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';

/** Long enough (several seconds in a worker) to be killed in the middle. */
const LONG_PLAN = {
  model: { kind: 'transformer', layers: 128, hidden: 25600, heads: 160, vocab: 51200, seqLen: 2048 },
  cluster: { gpu: 'A100-80GB', nodes: 384, gpusPerNode: 8 },
  training: { globalBatch: 3072 },
};

describe('a worker SIGKILLed mid-job', () => {
  const queueName = `kill-${process.pid}-${Date.now()}`;
  const env = { REDIS_URL, MESHPLAN_QUEUE: queueName };
  const processes: ReturnType<typeof startMeshplan>[] = [];

  afterAll(async () => {
    await Promise.all(processes.map(stop));
    const queue = new Queue(queueName, { connection: { url: REDIS_URL } as never });
    await queue.obliterate({ force: true });
    await queue.close();
  });

  it('loses nothing: another worker picks the job up, it finishes once, nothing stays running', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    processes.push(startMeshplan(['serve', '--port', String(port)], env));
    const doomed = startMeshplan(['worker', '--concurrency', '1', '--lock-sec', '2'], env);
    processes.push(doomed);
    await waitUntilReady(url);
    const client = createMeshplanClient(url);
    const { data } = await client.POST('/v1/plans', { body: LONG_PLAN as never });
    const id = data!.id;

    expect((await pollJob(client, id, (s) => s === 'running', 30_000))?.status).toBe('running');
    doomed.kill('SIGKILL');
    processes.push(startMeshplan(['worker', '--concurrency', '1', '--lock-sec', '2'], env));

    const finished = await pollJob(client, id, FINISHED, 120_000);
    expect(finished?.status).toBe('succeeded');
    expect(finished?.plan?.status).toBe('optimal');

    const queue = new Queue(queueName, { connection: { url: REDIS_URL } as never });
    try {
      const counts = await queue.getJobCounts('active', 'waiting', 'completed', 'failed');
      expect(counts).toMatchObject({ active: 0, waiting: 0, completed: 1, failed: 0 });
    } finally {
      await queue.close();
    }
  });
});
