import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { createMeshplanClient } from '../../src/client/index.ts';
import { FINISHED, pollJob } from '../e2e/poll.ts';
import { freePort, startMeshplan, stop, waitUntilReady } from '../e2e/processes.ts';
import { expectEachFinishedOnce, slowPlan } from './helpers.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';

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
    const { data, response } = await client.POST('/v1/plans', { body: slowPlan(3072) as never });
    expect(response.status).toBe(202);
    const id = data!.id;

    expect((await pollJob(client, id, (s) => s === 'running', 30_000))?.status).toBe('running');
    doomed.kill('SIGKILL');
    const rescuer = startMeshplan(['worker', '--concurrency', '1', '--lock-sec', '2'], env);
    processes.push(rescuer);

    const finished = await pollJob(client, id, FINISHED, 120_000);
    expect(finished?.status).toBe('succeeded');
    expect(finished?.plan?.status).toBe('optimal');

    await expectEachFinishedOnce(queueName, REDIS_URL, [doomed, rescuer], [id]);
  });
});
