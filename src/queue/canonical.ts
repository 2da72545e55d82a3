/**
 * Canonical JSON (object keys sorted, no whitespace, `undefined` members dropped) and the ids derived from
 * it: identical requests, however their keys were ordered, hash to one job (DESIGN.md §7).
 */
import { createHash } from 'node:crypto';
import type { PlanRequest, SweepRequest } from '../schema/index.ts';

export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) {
    // As JSON.stringify does: a hole or `undefined` in an array is null, keeping positions.
    return `[${value.map((item) => (item === undefined ? 'null' : canonicalJson(item))).join(',')}]`;
  }
  if (value !== null && typeof value === 'object') {
    const members: string[] = [];
    for (const key of Object.keys(value).sort()) {
      const member = (value as Record<string, unknown>)[key];
      if (member !== undefined) members.push(`${JSON.stringify(key)}:${canonicalJson(member)}`);
    }
    return `{${members.join(',')}}`;
  }
  // Numbers, strings, booleans, null; non-finite numbers become null exactly as in JSON.
  return JSON.stringify(value) ?? 'null';
}

/** A versioned domain tag keeps plan and sweep ids apart and lets the canonical form change later. */
function digest(domain: string, value: unknown): string {
  return createHash('sha256').update(`meshplan/${domain}/v1\n`).update(canonicalJson(value)).digest('hex');
}

/**
 * Jobs and sweeps of an API key carry its id (`<keyId>-<hash>`) and hash it with the request: an identical
 * request from another key is another job, so deduplication never hands one key's job to another, and
 * the owner of an id is read off the id without a store round trip. Without keys (`owner` null) ids are
 * the bare hash, as before keys existed.
 */
function scoped(domain: string, value: unknown, owner: string | null): string {
  return owner === null ? digest(domain, value) : `${owner}-${digest(domain, { owner, value })}`;
}

const OWNED_ID = /^([0-9a-f]{16})-[0-9a-f]{64}$/;

/** The key id a job or sweep id was minted for; null for an unscoped (or malformed) id. */
export function ownerOfJobId(id: string): string | null {
  return OWNED_ID.exec(id)?.[1] ?? null;
}

/**
 * The job id of a request. Pass it parsed (`PlanRequest.parse`), so that a default written out and a
 * default left implicit give the same id.
 */
export function planJobId(request: PlanRequest, owner: string | null = null): string {
  return scoped('plan', request, owner);
}

export function sweepId(sweep: SweepRequest, owner: string | null = null): string {
  return scoped('sweep', sweep, owner);
}
