import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import { createJsonSchemaTransform, createJsonSchemaTransformObject } from 'fastify-type-provider-zod';
import { z } from 'zod';
import packageJson from '../../package.json' with { type: 'json' };
import { API_KEY_SCHEME, security } from './auth.ts';
import { tuplesAsTypedArrays } from './openapi-tuples.ts';
import { jsonResponse, openApiRegistry, problemResponses, textResponse } from './schemas.ts';

const transformObject = createJsonSchemaTransformObject({ schemaRegistry: openApiRegistry });

type JsonObject = { [key: string]: unknown };

function collectRefs(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) {
    for (const item of value) collectRefs(item, into);
  } else if (value !== null && typeof value === 'object') {
    for (const [key, child] of Object.entries(value)) {
      if (key === '$ref' && typeof child === 'string') into.add(child.replace('#/components/schemas/', ''));
      else collectRefs(child, into);
    }
  }
}

/**
 * The zod transform emits every registered schema twice, as read (`XInput`) and as written (`X`),
 * used or not. Keeping only what the paths reach leaves one type per schema in the generated client.
 */
function pruneUnreferencedSchemas<D extends JsonObject>(document: D): D {
  const components = (document.components ?? {}) as JsonObject;
  const schemas = (components.schemas ?? {}) as JsonObject;
  const reached = new Set<string>();
  collectRefs({ ...document, components: { ...components, schemas: {} } }, reached);
  for (let grew = true; grew; ) {
    const before = reached.size;
    for (const id of [...reached]) collectRefs(schemas[id], reached);
    grew = reached.size > before;
  }
  const kept = Object.fromEntries(Object.entries(schemas).filter(([id]) => reached.has(id)));
  return { ...document, components: { ...components, schemas: kept } };
}

/**
 * Registers the OpenAPI generator (it must precede the routes: it collects them as they are added),
 * Swagger UI at /docs and the document at /openapi.json.
 */
export function registerOpenApi(app: FastifyInstance): void {
  // Registered on the root instance, not wrapped in a plugin: the generator sees only routes in its
  // own context and below, and `app.swagger()` must be reachable from the root.
  app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'meshplan',
        version: packageJson.version,
        description:
          'Plans how to split a deep-learning training job over a GPU cluster. Errors are RFC 9457 problem documents (`application/problem+json`); invalid input lists each field in `errors`.',
      },
      tags: [
        { name: 'plans', description: 'Planning jobs and the inline estimate' },
        { name: 'sweeps', description: 'Grids of planning jobs' },
        { name: 'calibrations', description: 'Profiles fitting the cost model to a cluster’s measured runs' },
        { name: 'catalog', description: 'Known hardware' },
        { name: 'operations', description: 'Probes and metrics' },
      ],
      components: {
        securitySchemes: {
          [API_KEY_SCHEME]: {
            type: 'http',
            scheme: 'bearer',
            description: 'Required when the server is started with API keys (MESHPLAN_API_KEYS)',
          },
        },
      },
    },
    transform: createJsonSchemaTransform({ schemaRegistry: openApiRegistry }),
    transformObject: (document) => tuplesAsTypedArrays(pruneUnreferencedSchemas(transformObject(document))),
  });
  // Swagger UI hides its routes. Its page is documented like the other pages; its assets and its
  // copies of the document (/docs/json, /docs/yaml) are not. The page answers at /docs and /docs/,
  // one route whose options fastify rewrites to the latter after the hook, so that is what is listed.
  app.addHook('onRoute', (route) => {
    if (route.url !== '/docs' || route.method !== 'GET') return;
    route.schema = {
      tags: ['operations'],
      summary: 'Swagger UI',
      description: 'This document, browsable, with requests to try.',
      security,
      response: { 200: textResponse('An HTML page', 'text/html'), ...problemResponses(401, 429) },
    };
  });
  app.register(fastifySwaggerUi, {
    routePrefix: '/docs',
    // Swagger UI's own policy (its scripts by hash), in place of helmet's on these routes; without
    // upgrade-insecure-requests, which would break the page over plain loopback HTTP.
    staticCSP: true,
    transformStaticCSP: (header) => header.replace(/\s*upgrade-insecure-requests;?/, ''),
  });
  // A plugin, so the route is added once the generator listens for routes and documents itself.
  app.register(async (documents) => {
    documents.get(
      '/openapi.json',
      {
        schema: {
          tags: ['operations'],
          summary: 'This OpenAPI document',
          security,
          response: {
            200: jsonResponse('OpenAPI 3.1', z.record(z.string(), z.unknown())),
            ...problemResponses(401, 429),
          },
        },
      },
      async () => app.swagger(),
    );
  });
}
