import { Queue } from 'bullmq';
import { freePort, startMeshplan, stop, waitUntilReady } from '../test/e2e/processes.ts';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export type MeshplanProcess = ReturnType<typeof startMeshplan>;

export interface RunningService {
  readonly url: string;
  readonly queueName: string;
  readonly api: MeshplanProcess;
  readonly workers: readonly MeshplanProcess[];
}

/**
 * Runs `body` against `meshplan serve` and `workers` × `meshplan worker --concurrency 1` on a queue of
 * their own, so a benchmark never shares jobs (or dedup hits) with another run. Without API keys the
 * server sets no rate limit, so the single-client load generator measures no 429s. The processes are
 * stopped and the queue obliterated afterwards, also when `body` throws or the run is interrupted
 * (SIGINT/SIGTERM), so a benchmark leaves neither processes nor Redis keys behind.
 */
export async function withService<T>(
  queuePrefix: string,
  workers: number,
  body: (service: RunningService) => Promise<T>,
): Promise<T> {
  const queueName = `${queuePrefix}-${process.pid}-${Date.now()}`;
  const env = { REDIS_URL, MESHPLAN_QUEUE: queueName };
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const api = startMeshplan(['serve', '--port', String(port)], { ...env, LOG_LEVEL: 'warn' });
  const workerProcesses = Array.from({ length: workers }, () =>
    startMeshplan(['worker', '--concurrency', '1'], env),
  );
  const processes = [api, ...workerProcesses];

  // Shared by `finally` and the signal handler: whichever comes first does the work once.
  let cleaning: Promise<void> | undefined;
  const cleanup = () => {
    cleaning ??= (async () => {
      await Promise.all(processes.map(stop));
      const queue = new Queue(queueName, { connection: { url: REDIS_URL } as never });
      try {
        await queue.obliterate({ force: true });
      } catch (error) {
        // Reported, not thrown: it would hide the error that got us here.
        process.stderr.write(`could not obliterate queue ${queueName}: ${(error as Error).message}\n`);
      } finally {
        await queue.close();
      }
    })();
    return cleaning;
  };
  // `on`, not `once`: a Ctrl-C reaches this process twice (from the terminal and relayed by tsx), and
  // with no listener left tsx's own handler would exit mid-cleanup. Repeats wait for the same cleanup,
  // which is bounded (stop() SIGKILLs after 10 s).
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`${signal}: stopping the meshplan processes and removing queue ${queueName}\n`);
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await waitUntilReady(url);
    return await body({ url, queueName, api, workers: workerProcesses });
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await cleanup();
  }
}
