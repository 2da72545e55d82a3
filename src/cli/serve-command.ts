import { type Command, InvalidArgumentError, Option } from 'commander';
import { Redis } from 'ioredis';
import { buildApp, type MeshplanApp } from '../http/app.ts';
import { type Limits, limitsFromEnv } from '../http/limits.ts';
import type { JobQueue } from '../queue/job-queue.ts';

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
}

export interface RunningServer {
  readonly app: MeshplanApp;
  /** e.g. http://127.0.0.1:8080 */
  readonly url: string;
  /** Stops accepting requests, lets in-flight ones finish, then closes the queue. */
  stop(): Promise<void>;
}

/** A forced exit after this long: a stuck connection or queue must not keep a stopped container alive. */
const SHUTDOWN_DEADLINE_MS = 30_000;

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
  // LOG_LEVEL=warn drops the per-request lines (they cost throughput under load).
  const logger = options.logger === false ? false : { level: process.env.LOG_LEVEL ?? 'info' };
  // Its own connection, failing fast while Redis is away (the rate limit then lets requests through).
  const rateLimitRedis = options.redisUrl
    ? new Redis(options.redisUrl, { maxRetriesPerRequest: 1, connectTimeout: 500, enableOfflineQueue: false })
    : undefined;
  rateLimitRedis?.on('error', () => {});
  const app = buildApp({
    queue,
    apiKeys: options.apiKeys,
    logger,
    ...(options.limits ? { limits: options.limits } : {}),
    ...(rateLimitRedis ? { rateLimitRedis } : {}),
  });
  const closeRedis = () => rateLimitRedis?.quit().catch(() => rateLimitRedis.disconnect());
  let url: string;
  try {
    url = await app.listen({ host: options.host, port: options.port });
  } catch (error) {
    await app.close();
    await queue.close();
    await closeRedis();
    throw error;
  }
  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    // The server goes first so no request reaches a closed queue; the queue then drains its own work.
    stopping ??= (async () => {
      try {
        await app.close();
      } finally {
        await queue.close();
        await closeRedis();
      }
    })();
    return stopping;
  };
  return { app, url, stop };
}

/** `meshplan serve [--host 127.0.0.1] [--port 8080]`, also read from HOST and PORT. */
export function registerServeCommand(program: Command, createQueue: QueueFactory): Command {
  return program
    .command('serve')
    .description('serve the HTTP API (Swagger UI at /docs, OpenAPI at /openapi.json, metrics at /metrics)')
    .addOption(new Option('--host <host>', 'interface to listen on').env('HOST').default('127.0.0.1'))
    .addOption(new Option('--port <port>', 'TCP port').env('PORT').default(8080).argParser(parsePort))
    .action(async (opts: { host: string; port: number }) => {
      // Read first: a mistyped limit stops the start before a queue connection is opened.
      const limits = limitsFromEnv(process.env);
      const queue = await createQueue();
      const server = await startServer(
        {
          host: opts.host,
          port: opts.port,
          apiKeys: apiKeysFromEnv(process.env.MESHPLAN_API_KEYS),
          limits,
          ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
        },
        queue,
      );
      const shutdown = (signal: NodeJS.Signals): void => {
        server.app.log.info({ signal }, 'shutting down');
        setTimeout(() => process.exit(1), SHUTDOWN_DEADLINE_MS).unref();
        server.stop().catch((error: unknown) => {
          server.app.log.error({ err: error }, 'shutdown failed');
          process.exitCode = 1;
        });
      };
      process.once('SIGTERM', shutdown);
      process.once('SIGINT', shutdown);
    });
}
