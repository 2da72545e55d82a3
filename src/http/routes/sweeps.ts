import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { withStoredProfile } from '../../queue/calibrations.ts';
import {
  FRONTIER_FIELD_LIST,
  FrontierAxes,
  InvalidInputError,
  Sweep,
  SweepFrontier,
  SweepRequest,
} from '../../schema/index.ts';
import { sweepFrontier } from '../../sweep/frontier.ts';
import { sortSweepRows, sweepRowsToCsv } from '../../sweep/table.ts';
import { loadOwned, security } from '../auth.ts';
import { checkSweepRequest } from '../limits.ts';
import { JobIdParams, jsonResponse, problemResponses, SweepQuery, textResponse } from '../schemas.ts';

function sweepPath(id: string): string {
  return `/v1/sweeps/${encodeURIComponent(id)}`;
}

export const sweepRoutes: FastifyPluginAsyncZod = async (app) => {
  const loadSweep = async (
    request: FastifyRequest,
    id: string,
    sort: z.infer<typeof SweepQuery>['sort'],
  ): Promise<Sweep> => {
    const sweep = await loadOwned(request, 'sweep', id, () => app.queue.getSweep(id));
    return sort === undefined ? sweep : { ...sweep, rows: sortSweepRows(sweep.rows, sort) };
  };

  app.post(
    '/sweeps',
    {
      schema: {
        tags: ['sweeps'],
        summary: 'Submit a sweep',
        description:
          'Expands `grid` (dotted request paths → values) as a cartesian product over `base` and queues one planning job per point.',
        security,
        body: SweepRequest,
        response: {
          202: jsonResponse('Queued: poll `/v1/sweeps/{id}`', Sweep),
          ...problemResponses(400, 401, 413, 429, 503),
        },
      },
    },
    async (request, reply) => {
      // A stored calibration named in the base travels with every point's job.
      const base = await withStoredProfile(request.body.base, app.profiles).catch((error: unknown) => {
        throw error instanceof InvalidInputError ? error.under('base') : error;
      });
      const body = { ...request.body, base };
      checkSweepRequest(body, app.limits);
      const sweep = await app.queue.submitSweep(body, request.principal);
      app.metrics.submissions.inc({ kind: 'sweep', outcome: 'created' });
      return reply.code(202).header('location', sweepPath(sweep.id)).send(sweep);
    },
  );

  app.get(
    '/sweeps/:id',
    {
      schema: {
        tags: ['sweeps'],
        summary: 'Get a sweep',
        description: 'Status counts and one summary row per grid point, optionally sorted best first.',
        security,
        params: JobIdParams,
        querystring: SweepQuery,
        response: { 200: jsonResponse('The sweep', Sweep), ...problemResponses(400, 401, 403, 404, 429) },
      },
    },
    async (request, reply) => reply.send(await loadSweep(request, request.params.id, request.query.sort)),
  );

  app.get(
    '/sweeps/:id/rows.csv',
    {
      schema: {
        tags: ['sweeps'],
        summary: 'Get a sweep as CSV',
        description: 'The rows of `GET /v1/sweeps/{id}`: one column per grid path, then the metrics.',
        security,
        params: JobIdParams,
        querystring: SweepQuery,
        response: {
          200: textResponse('RFC 4180 CSV with a header line', 'text/csv'),
          ...problemResponses(400, 401, 403, 404, 429),
        },
      },
    },
    async (request, reply) => {
      const sweep = await loadSweep(request, request.params.id, request.query.sort);
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="sweep-${sweep.id}.csv"`)
        .send(sweepRowsToCsv(sweep.rows));
    },
  );

  app.get(
    '/sweeps/:id/frontier',
    {
      schema: {
        tags: ['sweeps'],
        summary: 'Get the Pareto frontier of a sweep',
        description: `The rows no other row beats on every axis (\`x\`, \`y\` and optionally \`z\`), sorted by \`x\`, best first. Each field has its direction: ${FRONTIER_FIELD_LIST}. Rows without a value on an axis (unfinished, failed, without a plan, or a cost the request did not price) take no part; \`compared\` counts those that do.`,
        security,
        params: JobIdParams,
        querystring: FrontierAxes,
        response: {
          200: jsonResponse('The frontier', SweepFrontier),
          ...problemResponses(400, 401, 403, 404, 429),
        },
      },
    },
    async (request, reply) =>
      reply.send(sweepFrontier(await loadSweep(request, request.params.id, undefined), request.query)),
  );
};
