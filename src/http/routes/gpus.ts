import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { GPU_CATALOG } from '../../cluster/catalog.ts';
import { security } from '../auth.ts';
import { CatalogEntry, jsonResponse, problemResponses } from '../schemas.ts';

export const gpuRoutes: FastifyPluginAsyncZod = async (app) => {
  const catalog = Object.entries(GPU_CATALOG).map(([id, entry]) => ({ id, ...entry }));

  app.get(
    '/gpus',
    {
      schema: {
        tags: ['catalog'],
        summary: 'List the GPU catalog',
        description:
          'GPUs a request may name in `cluster.gpu` (case-insensitive), with their figures and sources.',
        security,
        response: { 200: jsonResponse('The catalog', z.array(CatalogEntry)), ...problemResponses(401, 429) },
      },
    },
    async (_request, reply) => reply.send(catalog),
  );
};
