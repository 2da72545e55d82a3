import { z } from 'zod';
import { CatalogGpu, GpuSpec } from '../schema/cluster.ts';
import {
  JobStatus,
  Plan,
  PlanJob,
  PlanRequest,
  Problem,
  Sweep,
  SweepFrontier,
  SweepRequest,
  SweepRow,
} from '../schema/index.ts';
import { SWEEP_SORT_FIELDS } from '../sweep/table.ts';

/*
 * Schemas only the HTTP layer needs. The domain schemas come from src/schema as they are; this
 * module names them for OpenAPI in a registry of its own, so `$ref` ids never leak into (or clash
 * with) zod's global registry that other code may use.
 */
export const openApiRegistry = z.registry<{ id?: string; description?: string }>();

/**
 * `.describe()` writes into zod's global registry, while the generator reads only `openApiRegistry`
 * (and copies of it that fall back to its map). Its map therefore falls back to the global
 * descriptions, and to nothing else there: an `id` would turn a schema into a component.
 */
class GlobalDescriptions extends WeakMap<z.core.$ZodType, { id?: string; description?: string }> {
  override get(schema: z.core.$ZodType) {
    const own = super.get(schema);
    const description = z.globalRegistry.get(schema)?.description;
    return description === undefined ? own : { description, ...own };
  }

  override has(schema: z.core.$ZodType): boolean {
    return this.get(schema) !== undefined;
  }
}
openApiRegistry._map = new GlobalDescriptions();
for (const [id, schema] of Object.entries({
  PlanRequest,
  PlanJob,
  Plan,
  Problem,
  Sweep,
  SweepFrontier,
  SweepRequest,
  SweepRow,
  GpuSpec,
  JobStatus,
})) {
  openApiRegistry.add(schema, { id });
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export const JobIdParams = z.object({ id: z.string().min(1).max(200) }).strict();

export const PlanAccepted = z.object({
  id: z.string(),
  status: JobStatus,
  links: z.object({
    /** Where to poll the job. */
    self: z.string(),
    /** A human-facing page for the job, when the server is configured with one. */
    view: z.string().optional(),
  }),
});
export type PlanAccepted = z.infer<typeof PlanAccepted>;
openApiRegistry.add(PlanAccepted, { id: 'PlanAccepted' });

/**
 * Long-polls are bounded so a client cannot pin a connection (and a waiter) indefinitely; the bound is
 * configuration (`limits.waitSec`, default 60), checked by the route.
 */
export const SubmitPlanQuery = z
  .object({
    wait: z.coerce
      .number()
      .min(0)
      .optional()
      .describe(
        "Seconds to wait for the plan (at most the server's limit, 60 by default); it is returned inline when it finishes in time",
      ),
  })
  .strict();

export const SweepQuery = z
  .object({
    sort: z
      .enum(SWEEP_SORT_FIELDS)
      .optional()
      .describe('Row field to sort by: best first (descending throughput, ascending time and memory)'),
  })
  .strict();

export const CatalogEntry = CatalogGpu.extend({ id: z.string() });
openApiRegistry.add(CatalogEntry, { id: 'CatalogGpu' });

export const HealthStatus = z.object({ status: z.literal('ok') });
export const ReadyStatus = z.object({ status: z.literal('ready') });

/** A JSON response with a description (a bare schema would be documented as "Default Response"). */
export function jsonResponse<S extends z.ZodType>(
  description: string,
  schema: S,
): { description: string; content: { 'application/json': { schema: S } } } {
  return { description, content: { 'application/json': { schema } } };
}

/** A text response (a page, CSV, metrics) with the media type the route really sends. */
export function textResponse(
  description: string,
  mediaType: string,
): { description: string; content: Record<string, { schema: z.ZodString }> } {
  return { description, content: { [mediaType]: { schema: z.string() } } };
}

/** Problem responses in OpenAPI, with the media type the error handler really sends. */
export function problemResponses<const C extends readonly number[]>(
  ...codes: C
): Record<C[number], { description: string; content: Record<string, { schema: typeof Problem }> }> {
  const out: Record<number, { description: string; content: Record<string, { schema: typeof Problem }> }> =
    {};
  for (const code of codes) {
    out[code] = {
      description: PROBLEM_DESCRIPTIONS[code] ?? 'Problem',
      content: { [PROBLEM_CONTENT_TYPE]: { schema: Problem } },
    };
  }
  return out;
}

const PROBLEM_DESCRIPTIONS: Readonly<Record<number, string>> = {
  400: 'Invalid input: `errors` lists each field with what is wrong',
  401: 'Missing or unknown API key',
  403: "Another API key's job or sweep",
  404: 'No such resource',
  413: 'Request body larger than the server accepts',
  429: 'Too many requests for this API key: retry after `Retry-After` seconds',
  503: 'Unavailable: the job store does not answer, or the server is shutting down',
};
