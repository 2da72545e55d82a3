import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { withDeadline } from '../deadline.ts';
import { httpProblem, sendProblem } from '../problem.ts';
import { HealthStatus, jsonResponse, problemResponses, ReadyStatus, textResponse } from '../schemas.ts';

/** Kubelet's default probe timeout is 1 s; a store slower than this is not ready in practice anyway. */
const READY_DEADLINE_MS = 900;

/** Probes and metrics: unauthenticated, for orchestrators and scrapers. */
export const operationRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Liveness',
        description: 'Always 200 while the process serves HTTP; it does not touch the job store.',
        response: { 200: jsonResponse('Alive', HealthStatus) },
      },
    },
    async (_request, reply) => reply.send({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Readiness',
        description:
          '200 when the job store answers and the server takes jobs, else a 503 problem (also while it drains for a shutdown).',
        response: { 200: jsonResponse('Ready', ReadyStatus), ...problemResponses(503) },
      },
    },
    async (request, reply) => {
      const check = app.queue.ready().catch((error: unknown) => {
        request.log.warn({ err: error }, 'readiness check failed');
        return false;
      });
      const ready = await withDeadline(check, READY_DEADLINE_MS, false);
      if (!ready) {
        return sendProblem(reply, {
          ...httpProblem(503, 'the job store does not answer, or the server is shutting down', 'NOT_READY'),
          instance: request.url,
        });
      }
      return reply.send({ status: 'ready' });
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics',
        response: {
          200: textResponse('Prometheus text exposition format', 'text/plain'),
        },
      },
    },
    async (_request, reply) =>
      reply.type(app.metrics.registry.contentType).send(await app.metrics.registry.metrics()),
  );
};
