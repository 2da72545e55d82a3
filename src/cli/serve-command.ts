import { type Command, InvalidArgumentError, Option } from 'commander';
import type { MeshplanApp } from '../http/app.ts';
import type { Limits } from '../http/limits.ts';
import type { JobQueue } from '../queue/job-queue.ts';
import { nonNegativeNumber, positiveInteger } from './arg-parsers.ts';

// The HTTP app and Redis client load when a server starts, not whenever the CLI registers `serve`.

/**
 * Makes the queue the server submits to. The CLI passes one that picks BullMQ when REDIS_URL is
 * set and the in-process queue otherwise, so this module does not depend on either adapter.
 */
export type QueueFactory = () => JobQueue | Promise<JobQueue>;

export interface ServeOptions {
  readonly host: string;
  readonly port: number;
  /** Bearer keys the /v1 routes require; empty: open. */
  readonly apiKeys: readonly string[];
  /** JSON request logs on stdout (default on). */
  readonly logger?: boolean;
  /** Per-request limits (default `DEFAULT_LIMITS`; `limitsFromEnv` reads MESHPLAN_MAX_* and MESHPLAN_RATE_LIMIT_*). */
  readonly limits?: Partial<Limits>;
  /** The Redis of the queue, when it is BullMQ: rate-limit counters are then shared by every API instance. */
  readonly redisUrl?: string;
  /** On stop, how long jobs running in this process (the inline queue's) may finish first; default 0. */
  readonly drainMs?: number;
  /** Estimates priced at once, each on its own thread (MESHPLAN_ESTIMATE_THREADS); later ones wait. Default 1. */
  readonly estimateThreads?: number;
}

export interface RunningServer {
  readonly app: MeshplanApp;
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /**
   * Drains the queue (no new jobs: 503; accepted ones finish within `drainMs` while reads and
   * long-polls are still answered), then stops listening, answers the long-polls still waiting, lets
   * in-flight requests finish and closes the queue.
   */
  stop(): Promise<void>;
}

/** Default MESHPLAN_DRAIN_SEC: with the margin below, inside Kubernetes' default 30 s grace period. */
const DEFAULT_DRAIN_SEC = 25;
/**
 * A forced exit this long after the drain: a stuck connection or queue must not keep a stopped
 * container alive.
 */
const SHUTDOWN_MARGIN_MS = 5000;

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new InvalidArgumentError('expected a TCP port (0–65535)');
  }
  return port;
}

/** MESHPLAN_API_KEYS: comma-separated; blanks ignored. */
export function apiKeysFromEnv(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((key) => key.trim())
    .filter((key) => key !== '');
}

/** Builds the app and listens. Takes the queue over: `stop()`, or a failed start, closes it. */
export async function startServer(options: ServeOptions, queue: JobQueue): Promise<RunningServer> {
  const [{ buildApp }, { Redis }, { createProfileStore }] = await Promise.all([
    import('../http/app.ts'),
    import('ioredis'),
    import('../queue/profile-store.ts'),
  ]);
  // LOG_LEVEL=warn drops the per-request lines (they cost throughput under load).
  const logger = options.logger === false ? false : { level: process.env.LOG_LEVEL ?? 'info' };
  // Its own connection, failing fast while Redis is away (the rate limit then lets requests through).
  const rateLimitRedis = options.redisUrl
    ? new Redis(options.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 500, enableOfflineQueue: false })
    : undefined;
  rateLimitRedis?.on('error', () => {});
  // Calibration profiles live beside the plans: in Redis with BullMQ, else in this process.
  const profiles = createProfileStore(options.redisUrl);
  const app = buildApp({
    queue,
    profiles,
    estimateThreads: options.estimateThreads ?? 1,
    apiKeys: options.apiKeys,
    logger,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(rateLimitRedis ? { rateLimitRedis } : {}),
  });
  const closeRedis = () => rateLimitRedis?.quit().catch(() => rateLimitRedis.disconnect());
  const release = async () => {
    await queue.close();
    await closeRedis();
    await profiles.close();
  };
  let url: string;
  try {
    url = await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await app.close();
    await release();
    throw error;
  }
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        // The inline queue's jobs exist only in this process: they finish while the server still
        // answers reads and the long-polls waiting on them (submissions get 503, /readyz 503). The
        // server then closes before the queue, so no request reaches a closed queue.
        await queue.drain(options.drainMs ?? 0);
        await app.close();
      } finally {
        await release();
      }
    })();
    return stopping;
  };
  return { app, url, stop };
}

/**
 * `meshplan serve [--host 127.0.0.1] [--port 8080] [--drain-sec 25] [--estimate-threads 1]`, also read
 * from HOST, PORT, MESHPLAN_DRAIN_SEC and MESHPLAN_ESTIMATE_THREADS.
 */
export function registerServeCommand(program: Command, createQueue: QueueFactory): Command {
  return program
    .command('serve')
    .description(
      'serve the HTTP API (Swagger UI at /docs, OpenAPI at /openapi.json, metrics at /metrics) until ' +
        'SIGTERM or Ctrl-C: jobs of the inline queue then finish first (new ones get 503); a second signal ' +
        'stops at once',
    )
    .addOption(new Option('--host <host>', 'interface to listen on').env('HOST').default('127.0.0.1'))
    .addOption(new Option('--port <port>', 'TCP port').env('PORT').default(8080).argParser(parsePort))
    .addOption(
      new Option(
        '--drain-sec <sec>',
        'on SIGTERM, how long jobs running in this process (inline queue, no REDIS_URL) may finish',
      )
        .env('MESHPLAN_DRAIN_SEC')
        .default(DEFAULT_DRAIN_SEC)
        .argParser(nonNegativeNumber),
    )
    .addOption(
      new Option('--estimate-threads <n>', '/v1/estimates priced at once, each on a worker thread')
        .env('MESHPLAN_ESTIMATE_THREADS')
        .default(1)
        .argParser(positiveInteger),
    )
    .action(async (opts: { host: string; port: number; drainSec: number; estimateThreads: number }) => {
      // Read first: a mistyped limit stops the start before a queue connection is opened.
      const limits = (await import('../http/limits.ts')).limitsFromEnv(process.env);
      const queue = await createQueue();
      const server = await startServer(
        {
          host: opts.host,
          port: opts.port,
          apiKeys: apiKeysFromEnv(process.env.MESHPLAN_API_KEYS),
          limits,
          ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
          drainMs: opts.drainSec * 1000,
          estimateThreads: opts.estimateThreads,
        },
        queue,
      );
      let signals = 0;
      const shutdown = (signal: NodeJS.Signals): void => {
        signals += 1;
        if (signals > 1) {
          // A second Ctrl-C: whatever still runs here is given up.
          server.app.log.warn({ signal }, 'stopping at once');
          process.exit(1);
        }
        server.app.log.info({ signal, drainSec: opts.drainSec }, 'shutting down');
        setTimeout(() => process.exit(1), opts.drainSec * 1000 + SHUTDOWN_MARGIN_MS).unref();
        server.stop().catch((error: unknown) => {
          server.app.log.error({ err: error }, 'shutdown failed');
          process.exitCode = 1;
        });
      };
      process.on('SIGTERM', shutdown);
      process.on('SIGINT', shutdown);
    });
}
