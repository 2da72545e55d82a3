import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { ownerOfJobId } from '../queue/canonical.ts';
import { httpProblem, NotFoundError, sendProblem } from './problem.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /**
     * The id of the API key that made the request (`keyId`), or null on a server without keys. Jobs
     * and sweeps are scoped to it: their ids carry it, so one key never sees or deduplicates against
     * another key's work.
     */
    principal: string | null;
  }
}

export const API_KEY_SCHEME = 'bearerAuth';

/** Probes stay open: an orchestrator has no key, and a probe reveals nothing. */
const OPEN_ROUTES: ReadonlySet<string> = new Set(['/healthz', '/readyz']);

/**
 * OpenAPI `security` of the /v1 routes: a key, or none, since a server started without keys
 * accepts anonymous calls.
 */
export const security: readonly Record<string, readonly string[]>[] = [{ [API_KEY_SCHEME]: [] }, {}];

function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/**
 * A key's public id: 16 hex digits of a domain-tagged hash. It appears in the ids of the key's own jobs
 * (only that key sees them) and never reveals the key; a different tag from `digest` keeps it unrelated
 * to the comparison digests.
 */
export function keyId(key: string): string {
  return createHash('sha256').update('meshplan/api-key/v1\n').update(key).digest('hex').slice(0, 16);
}

/**
 * An app-wide onRequest hook accepting `Authorization: Bearer <key>` for any configured key on every
 * route but the probes, and recording the key's id as `request.principal`. Keys are compared as
 * fixed-length digests in constant time so response timing does not reveal a prefix.
 */
export function apiKeyHook(keys: readonly string[]): onRequestAsyncHookHandler {
  const accepted = keys.map((key) => ({ digest: digest(key), id: keyId(key) }));
  return async (request, reply) => {
    if (OPEN_ROUTES.has(request.url.split('?')[0]!)) return;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    const offered = match?.[1] === undefined ? null : digest(match[1]);
    // Every key is compared (no early exit) so timing does not depend on which key matched.
    let principal: string | null = null;
    for (const key of accepted) {
      if (offered !== null && timingSafeEqual(key.digest, offered)) principal = key.id;
    }
    if (principal === null) {
      reply.header('www-authenticate', 'Bearer');
      return sendProblem(reply, {
        ...httpProblem(401, 'send an API key as "Authorization: Bearer <key>"', 'UNAUTHORIZED'),
        instance: request.url,
      });
    }
    request.principal = principal;
  };
}

/** Another key's job or sweep: the central handler answers 403. */
export class ForbiddenError extends Error {
  override readonly name = 'ForbiddenError';
  readonly code = 'FORBIDDEN';
  readonly statusCode = 403;

  constructor(what: string, id: string) {
    super(`the ${what} "${id}" belongs to another API key`);
  }
}

/**
 * Whether the caller may see job or sweep `id`: on a keyed server only ids minted for its own key.
 * An id of another key is a 403 when it exists (`exists` is asked only then) and a 404 otherwise,
 * so an unknown id reads the same whoever asks.
 */
export async function assertOwnership(
  request: FastifyRequest,
  what: string,
  id: string,
  exists: () => Promise<boolean>,
): Promise<void> {
  if (request.principal === null || ownerOfJobId(id) === request.principal) return;
  if (await exists()) throw new ForbiddenError(what, id);
}

/**
 * Job or sweep `id` as `load` finds it, if the caller may see it: 404 when there is none, 403 when it
 * is another key's. Loaded once, before the ownership answer, so an unknown id reads the same
 * whoever asks.
 */
export async function loadOwned<T>(
  request: FastifyRequest,
  what: string,
  id: string,
  load: () => Promise<T | null | undefined>,
): Promise<T> {
  const found = await load();
  if (found === null || found === undefined) throw new NotFoundError(what, id);
  if (request.principal !== null && ownerOfJobId(id) !== request.principal)
    throw new ForbiddenError(what, id);
  return found;
}
