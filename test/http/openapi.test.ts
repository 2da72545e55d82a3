import { readFile } from 'node:fs/promises';
import SwaggerParser from '@apidevtools/swagger-parser';
import { describe, expect, it } from 'vitest';
import { renderClientTypes } from '../../scripts/client-types.ts';
import { buildApp } from '../../src/http/app.ts';
import { generateOpenApiDocument, renderOpenApiJson } from '../../src/http/openapi-document.ts';
import { MemoryQueue } from './memory-queue.ts';

const checkedInJson = () => readFile(new URL('../../openapi/openapi.json', import.meta.url), 'utf8');
const checkedInTypes = () => readFile(new URL('../../openapi/schema.d.ts', import.meta.url), 'utf8');

describe('openapi/openapi.json', () => {
  it('is what the routes generate now (run `npm run openapi` after changing the API)', async () => {
    expect(await checkedInJson()).toBe(renderOpenApiJson(await generateOpenApiDocument()));
  });

  it('is a valid OpenAPI 3.x document', async () => {
    const api = await SwaggerParser.validate(JSON.parse(await checkedInJson()));
    expect('openapi' in api && api.openapi).toMatch(/^3\./);
  });

  it('documents error responses as problem+json and names the request and answer schemas', async () => {
    const doc = JSON.parse(await checkedInJson());
    const submit = doc.paths['/v1/plans'].post;
    expect(submit.tags).toEqual(['plans']);
    expect(submit.requestBody.content['application/json'].schema.$ref).toBe(
      '#/components/schemas/PlanRequestInput',
    );
    expect(Object.keys(submit.responses).sort()).toEqual(['200', '202', '400', '401', '413', '429', '503']);
    expect(submit.responses['400'].content['application/problem+json'].schema.$ref).toBe(
      '#/components/schemas/Problem',
    );
    expect(Object.keys(doc.components.schemas)).toEqual(
      expect.arrayContaining(['PlanRequestInput', 'PlanJob', 'Plan', 'Sweep', 'Problem']),
    );
  });

  it('documents every route the app serves, pages included, but Swagger UI assets', async () => {
    const app = buildApp({ queue: new MemoryQueue() });
    const served: string[] = [];
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) {
        if (method !== 'HEAD') served.push(`${method} ${route.url.replace(/:(\w+)/g, '{$1}')}`);
      }
    });
    await app.ready();
    await app.close();
    const doc = JSON.parse(await checkedInJson()) as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(doc.paths).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const assets = /^GET \/docs\/(static|json|yaml|\*)/;
    expect(documented.sort()).toEqual(
      served
        .filter((route) => !assets.test(route))
        .map((r) => r.replace(/^GET \/docs$/, 'GET /docs/'))
        .sort(),
    );
    expect(documented).toEqual(
      expect.arrayContaining(['GET /v1/plans/{id}/view', 'GET /v1/sweeps/{id}/view']),
    );
  });

  it('openapi/schema.d.ts is what openapi-typescript makes of it', async () => {
    expect(await checkedInTypes()).toBe(await renderClientTypes(await checkedInJson()));
  });
});
