import type { JobQueue } from '../queue/job-queue.ts';
import { buildApp } from './app.ts';

const unavailable = (): Promise<never> =>
  Promise.reject(new Error('the documentation build has no job queue'));

/** The app needs a queue to be built; documenting it never calls one. */
const documentationQueue: JobQueue = {
  submit: unavailable,
  get: unavailable,
  waitFor: unavailable,
  cancel: unavailable,
  submitSweep: unavailable,
  getSweep: unavailable,
  depth: unavailable,
  ready: unavailable,
  drain: async () => {},
  close: async () => {},
};

/** The OpenAPI document of the API as the routes declare it. */
export async function generateOpenApiDocument(): Promise<unknown> {
  const app = buildApp({ queue: documentationQueue });
  try {
    await app.ready();
    return app.swagger();
  } finally {
    await app.close();
  }
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
  );
}

/**
 * The checked-in form: keys sorted at every level so the file changes only when the API does
 * (not when a route or a schema field moves), two-space indent, trailing newline.
 */
export function renderOpenApiJson(document: unknown): string {
  return `${JSON.stringify(sortKeys(document), null, 2)}\n`;
}
