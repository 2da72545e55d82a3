import createClient, { type Client } from 'openapi-fetch';
import type { paths } from '../../openapi/schema.js';

export type { components, paths } from '../../openapi/schema.js';

export interface MeshplanClientOptions {
  /** Sent as `Authorization: Bearer <key>`; needed when the server was started with API keys. */
  readonly apiKey?: string;
  /** A fetch to use instead of the global one (proxies, retries, tests). */
  readonly fetch?: typeof globalThis.fetch;
}

export type MeshplanClient = Client<paths>;

/**
 * A typed client of the meshplan HTTP API: paths, bodies and answers are checked against
 * openapi/openapi.json at compile time, e.g.
 * `const { data, error, response } = await client.POST('/v1/plans', { body, params: { query: { wait: 30 } } })`.
 * Errors arrive as `error`, an RFC 9457 problem document; nothing throws on a 4xx.
 */
export function createMeshplanClient(baseUrl: string, options: MeshplanClientOptions = {}): MeshplanClient {
  return createClient<paths>({
    baseUrl,
    headers: options.apiKey === undefined ? {} : { authorization: `Bearer ${options.apiKey}` },
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
  });
}
