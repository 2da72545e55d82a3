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
 * The job id of a request. Pass it parsed (`PlanRequest.parse`), so that a default written out and a
 * default left implicit give the same id.
 */
export function planJobId(request: PlanRequest): string {
  return digest('plan', request);
}

export function sweepId(sweep: SweepRequest): string {
  return digest('sweep', sweep);
}
