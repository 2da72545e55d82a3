import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { createCalibration } from '../../queue/calibrations.ts';
import { CalibrationCreated, CalibrationProfile, CalibrationRequest } from '../../schema/index.ts';
import { security } from '../auth.ts';
import { NotFoundError } from '../problem.ts';
import { JobIdParams, jsonResponse, problemResponses } from '../schemas.ts';

export const calibrationRoutes: FastifyPluginAsyncZod = async (app) => {
  app.post(
    '/calibrations',
    {
      schema: {
        tags: ['calibrations'],
        summary: 'Calibrate the cost model to your cluster',
        description:
          "Fits the GPU's efficiency factors (the only calibrated numbers) to measured step times of runs on one cluster, starting from the catalog's, and stores the profile. Plan and estimate requests then name it as `cluster.profile`. The fit prices every run a few dozen times on the API's estimate threads: seconds to minutes.",
        security,
        body: CalibrationRequest,
        response: {
          201: jsonResponse(
            'The stored profile and its id, with the residuals of the fit',
            CalibrationCreated,
          ),
          ...problemResponses(400, 401, 413, 429),
        },
      },
    },
    async (request, reply) => {
      const created = await createCalibration(request.body, app.estimator, app.profiles);
      return reply
        .code(201)
        .header('location', `/v1/calibrations/${encodeURIComponent(created.id)}`)
        .send(created);
    },
  );

  app.get(
    '/calibrations/:id',
    {
      schema: {
        tags: ['calibrations'],
        summary: 'Get a calibration profile',
        security,
        params: JobIdParams,
        response: {
          200: jsonResponse('The profile', CalibrationProfile),
          ...problemResponses(400, 401, 404, 429),
        },
      },
    },
    async (request, reply) => {
      const profile = await app.profiles.load(request.params.id);
      if (profile === null) throw new NotFoundError('calibration', request.params.id);
      return reply.send(profile);
    },
  );
};
