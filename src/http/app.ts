import helmet from '@fastify/helmet';
import rateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyServerOptions } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Redis } from 'ioredis';
import type { JobQueue } from '../queue/job-queue.ts';
import { PlanThreadPool } from '../queue/plan-thread-pool.ts';
import { MemoryProfileStore, type ProfileStore } from '../queue/profile-store.ts';
import type { Plan, PlanRequest } from '../schema/index.ts';
import { apiKeyHook } from './auth.ts';
import { DEFAULT_LIMITS, type Limits } from './limits.ts';
import { ApiMetrics } from './metrics.ts';
import { registerOpenApi } from './openapi.ts';
import { frameworkProblem, installProblemHandlers } from './problem.ts';
import { calibrationRoutes } from './routes/calibrations.ts';
import { estimateRoutes } from './routes/estimates.ts';
import { gpuRoutes } from './routes/gpus.ts';
import { operationRoutes } from './routes/operations.ts';
import { planRoutes } from './routes/plans.ts';
import { sweepRoutes } from './routes/sweeps.ts';
import { viewRoutes } from './routes/views.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** Where jobs go; owned by whoever built the app, who also closes it. */
    queue: JobQueue;
    /** Prices fixed configurations for /v1/estimates (and the fits of /v1/calibrations). */
    estimator: Estimator;
    /** Calibration profiles that requests name as `cluster.profile`. */
    profiles: ProfileStore;
    metrics: ApiMetrics;
    /** Aborted when the server starts closing, so long-polls answer at once instead of holding shutdown. */
    closing: AbortSignal;
    /** What one request may ask for (body size, graph size, sweep points, wait, cluster size). */
    limits: Limits;
  }
}

/** Prices the configuration a request fixes (the planner's estimate()). */
export type Estimator = (request: PlanRequest) => Promise<Plan>;

export interface AppOptions {
  readonly queue: JobQueue;
  /**
   * Where /v1/estimates runs; owned by the caller. Default: the planner's estimate() on worker
   * threads the app owns (a large model's pricing takes a few hundred ms, which would stall every
   * other request on this event loop), `estimateThreads` at once, one kept warm.
   */
  readonly estimator?: Estimator;
  /**
   * Where /v1/calibrations keeps profiles (Redis beside a BullMQ queue); owned by the caller. Default:
   * in this process's memory.
   */
  readonly profiles?: ProfileStore;
  /** Estimates priced at once when the app owns its estimator (default 1); later ones wait in order. */
  readonly estimateThreads?: number;
  /**
   * Bearer keys; when given, every route but /healthz and /readyz needs one, and each key sees only its
   * own jobs and sweeps. None or empty: the API is open.
   */
  readonly apiKeys?: readonly string[];
  /** Per-request limits; defaults in `DEFAULT_LIMITS` (`bodyBytes` overrides `bodyLimitBytes`). */
  readonly limits?: Partial<Limits>;
  /** Largest request body; graph models can be large, but not unbounded. */
  readonly bodyLimitBytes?: number;
  /**
   * Where rate-limit counters live, so that every API instance counts a key's requests together; in
   * process memory when absent. Owned by the caller.
   */
  readonly rateLimitRedis?: Redis;
  /** A human-facing page per plan job, `{id}` replaced by the id; sent as `links.view`. */
  readonly viewUrlTemplate?: string;
  readonly logger?: FastifyServerOptions['logger'];
}

export const DEFAULT_BODY_LIMIT_BYTES = DEFAULT_LIMITS.bodyBytes;

const PROBES: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

export type MeshplanApp = ReturnType<typeof buildApp>;

/**
 * The HTTP API as a fastify app: external plugins, decorators and app-wide hooks, then the route
 * plugins, each encapsulated. Nothing listens here; `serve` (or a test) starts it.
 */
export function buildApp(options: AppOptions) {
  const limits: Limits = {
    ...DEFAULT_LIMITS,
    ...(options.bodyLimitBytes === undefined ? {} : { bodyBytes: options.bodyLimitBytes }),
    ...options.limits,
  };
  const app = Fastify({
    bodyLimit: limits.bodyBytes,
    logger: options.logger ?? false,
    // Long-polls answer on close (see `closing`), so shutdown need not wait out 60 s requests.
    return503OnClosing: true,
    // Ids are at most 81 characters (`<keyId>-<sha256>`); longer path segments are turned away as
    // a problem document by `frameworkErrors`, like every other error.
    routerOptions: { maxParamLength: 256 },
    frameworkErrors: frameworkProblem,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installProblemHandlers(app);

  const closing = new AbortController();
  app.decorate('queue', options.queue);
  let estimator = options.estimator;
  if (estimator === undefined) {
    const threads = new PlanThreadPool({ maxIdle: 1, maxThreads: options.estimateThreads ?? 1 });
    estimator = (request) => threads.estimate(request);
    app.addHook('onClose', () => threads.close());
  }
  app.decorate('estimator', estimator);
  app.decorate('profiles', options.profiles ?? new MemoryProfileStore());
  app.decorate('metrics', new ApiMetrics(options.queue));
  app.decorate('closing', closing.signal);
  app.decorate('limits', limits);
  app.decorateRequest('principal', null);
  app.addHook('preClose', async () => closing.abort());
  // A response finished while closing (a long-poll the close has just answered) ends its connection:
  // a kept-alive one would sit idle and hold the server's close for the whole keep-alive timeout.
  app.addHook('onSend', async (_request, reply) => {
    if (closing.signal.aborted) reply.header('connection', 'close');
  });
  app.metrics.install(app);

  // Swagger UI sets its own, stricter policy on /docs; this one covers the API and other pages. No
  // upgrade-insecure-requests: the server is often reached over plain loopback HTTP.
  app.register(helmet, {
    global: true,
    contentSecurityPolicy: { directives: { upgradeInsecureRequests: null } },
  });
  // Hooks run in the order they are added: helmet's headers first (a 401 carries them too), then the
  // key check, then the rate limit, which counts by key and so must know it.
  const apiKeys = options.apiKeys ?? [];
  app.after(() => {
    if (apiKeys.length > 0) app.addHook('onRequest', apiKeyHook(apiKeys));
  });
  // With keys, a budget per key, so one team's sweep cannot starve another; without keys, none unless
  // the operator sets one per client address (see `Limits.rateLimitOpenMax`).
  const rateLimitMax = apiKeys.length > 0 ? limits.rateLimitMax : limits.rateLimitOpenMax;
  if (rateLimitMax > 0) {
    app.register(rateLimit, {
      global: true,
      max: rateLimitMax,
      timeWindow: limits.rateLimitWindowSec * 1000,
      keyGenerator: (request) => request.principal ?? request.ip,
      allowList: (request) => PROBES.has(request.url.split('?')[0]!),
      ...(options.rateLimitRedis === undefined
        ? {}
        : { redis: options.rateLimitRedis, nameSpace: 'meshplan:rate-limit:' }),
      // Redis away: serve (the queue answers 503 itself) rather than turn everyone away.
      skipOnError: true,
      errorResponseBuilder: (_request, context) =>
        Object.assign(
          new Error(`more than ${context.max} requests in ${context.after}; retry after ${context.after}`),
          { statusCode: 429, code: 'RATE_LIMITED' },
        ),
    });
  }

  registerOpenApi(app);
  app.register(operationRoutes);
  app.register(
    async (v1) => {
      await v1.register(planRoutes, { viewUrlTemplate: options.viewUrlTemplate ?? '/v1/plans/{id}/view' });
      await v1.register(estimateRoutes);
      await v1.register(calibrationRoutes);
      await v1.register(sweepRoutes);
      await v1.register(gpuRoutes);
      await v1.register(viewRoutes);
    },
    { prefix: '/v1' },
  );
  return app;
}
