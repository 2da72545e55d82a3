import Fastify, { type FastifyServerOptions } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { JobQueue } from '../queue/job-queue.ts';
import { apiKeyHook } from './auth.ts';
import { ApiMetrics } from './metrics.ts';
import { registerOpenApi } from './openapi.ts';
import { installProblemHandlers } from './problem.ts';
import { estimateRoutes } from './routes/estimates.ts';
import { gpuRoutes } from './routes/gpus.ts';
import { operationRoutes } from './routes/operations.ts';
import { planRoutes } from './routes/plans.ts';
import { sweepRoutes } from './routes/sweeps.ts';

declare module 'fastify' {
  interface FastifyInstance {
    /** Where jobs go; owned by whoever built the app, who also closes it. */
    queue: JobQueue;
    metrics: ApiMetrics;
    /** Aborted when the server starts closing, so long-polls answer at once instead of holding shutdown. */
    closing: AbortSignal;
  }
}

export interface AppOptions {
  readonly queue: JobQueue;
  /** Bearer keys accepted on /v1; none or empty: the API is open (probes, metrics and docs always are). */
  readonly apiKeys?: readonly string[];
  /** Largest request body; graph models can be large, but not unbounded. */
  readonly bodyLimitBytes?: number;
  /** A human-facing page per plan job, `{id}` replaced by the id; sent as `links.view`. */
  readonly viewUrlTemplate?: string;
  readonly logger?: FastifyServerOptions['logger'];
}

export const DEFAULT_BODY_LIMIT_BYTES = 8 * 2 ** 20;

export type MeshplanApp = ReturnType<typeof buildApp>;

/**
 * The HTTP API as a fastify app: external plugins, decorators and app-wide hooks, then the route
 * plugins, each encapsulated. Nothing listens here; `serve` (or a test) starts it.
 */
export function buildApp(options: AppOptions) {
  const app = Fastify({
    bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES,
    logger: options.logger ?? false,
    // Long-polls answer on close (see `closing`), so shutdown need not wait out 60 s requests.
    return503OnClosing: true,
  }).withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installProblemHandlers(app);

  const closing = new AbortController();
  app.decorate('queue', options.queue);
  app.decorate('metrics', new ApiMetrics(options.queue));
  app.decorate('closing', closing.signal);
  app.addHook('preClose', async () => closing.abort());
  app.metrics.install(app);

  registerOpenApi(app);
  app.register(operationRoutes);
  const apiKeys = options.apiKeys ?? [];
  app.register(
    async (v1) => {
      if (apiKeys.length > 0) v1.addHook('onRequest', apiKeyHook(apiKeys));
      await v1.register(planRoutes, { viewUrlTemplate: options.viewUrlTemplate });
      await v1.register(estimateRoutes);
      await v1.register(sweepRoutes);
      await v1.register(gpuRoutes);
    },
    { prefix: '/v1' },
  );
  return app;
}
