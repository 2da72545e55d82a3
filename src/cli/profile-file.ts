import { dirname, resolve } from 'node:path';
import { CalibrationProfile, InvalidInputError, parseOrThrow } from '../schema/index.ts';
import { readJsonFile } from './io.ts';

/**
 * A request whose `cluster.profile` names a profile file (relative to the request file) with the
 * profile itself in its place; anything else stays as it is for the schema to judge.
 */
export async function inlineProfileFile(request: unknown, requestFile: string): Promise<unknown> {
  if (request === null || typeof request !== 'object' || Array.isArray(request)) return request;
  const r = request as { cluster?: unknown };
  if (r.cluster === null || typeof r.cluster !== 'object') return request;
  const cluster = r.cluster as { profile?: unknown };
  if (typeof cluster.profile !== 'string') return request;
  const path = resolve(dirname(requestFile), cluster.profile);
  let profile: CalibrationProfile;
  try {
    profile = parseOrThrow(CalibrationProfile, await readJsonFile(path, 'cluster.profile'), 'profile');
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    throw new InvalidInputError(
      error.issues.map((i) => ({
        path: i.path.startsWith('cluster.profile') ? i.path : `cluster.profile${i.path ? `.${i.path}` : ''}`,
        message: `${i.message} (profile ${path})`,
      })),
      'request',
    );
  }
  return { ...request, cluster: { ...cluster, profile } };
}
