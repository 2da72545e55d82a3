import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { withStoredProfile } from '../../queue/calibrations.ts';
import { Plan, PlanRequest } from '../../schema/index.ts';
import { security } from '../auth.ts';
import { checkPlanRequest } from '../limits.ts';
import { jsonResponse, problemResponses } from '../schemas.ts';

export const estimateRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/estimates',
    {
      schema: {
        tags: ['plans'],
        summary: 'Price a fixed configuration',
        description:
          'The fast path: prices the configuration `parallel` fixes (tp, pp, dp, microBatch …) with the cost model the planner searches with, and answers inline without queueing (on a worker thread of the API, within `options.timeLimitSec`). `cluster.profile` names a stored calibration (`POST /v1/calibrations`).',
        security,
        body: PlanRequest,
        response: {
          200: jsonResponse('The priced configuration (status `infeasible` when it does not fit)', Plan),
          ...problemResponses(400, 401, 413, 429),
        },
      },
    },
    // estimate() re-validates its input and throws InvalidInputError (unknown GPU, degrees that do not
    // multiply to the cluster …): the central handler answers those with a 400 naming the fields.
    async (request, reply) => {
      const body = await withStoredProfile(request.body, app.profiles);
      checkPlanRequest(body, app.limits);
      return reply.send(await app.estimator(body));
    },
  );
};
