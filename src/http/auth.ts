import { createHash, timingSafeEqual } from 'node:crypto';
import type { onRequestAsyncHookHandler } from 'fastify';
import { httpProblem, sendProblem } from './problem.ts';

export const API_KEY_SCHEME = 'bearerAuth';

/**
 * OpenAPI `security` of the /v1 routes: a key, or none, since a server started without keys
 * accepts anonymous calls.
 */
export const security: readonly Record<string, readonly string[]>[] = [{ [API_KEY_SCHEME]: [] }, {}];

function digest(key: string): Buffer {
  return createHash('sha256').update(key).digest();
}

/**
 * An onRequest hook accepting `Authorization: Bearer <key>` for any configured key. Keys are
 * compared as fixed-length digests in constant time so response timing does not reveal a prefix.
 */
export function apiKeyHook(keys: readonly string[]): onRequestAsyncHookHandler {
  const accepted = keys.map(digest);
  return async (request, reply) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
    const offered = match?.[1] === undefined ? null : digest(match[1]);
    // Every key is compared (no early exit) so timing does not depend on which key matched.
    let ok = false;
    for (const key of accepted) ok = (offered !== null && timingSafeEqual(key, offered)) || ok;
    if (!ok) {
      reply.header('www-authenticate', 'Bearer');
      return sendProblem(reply, {
        ...httpProblem(401, 'send an API key as "Authorization: Bearer <key>"', 'UNAUTHORIZED'),
        instance: request.url,
      });
    }
  };
}
