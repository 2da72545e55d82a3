/** Canonical hashing: the id depends on what a request means, not on how it was written. */
import { describe, expect, it } from 'vitest';
import { canonicalJson, planJobId, sweepId } from '../../src/queue/canonical.ts';
import { PlanRequest, SweepRequest } from '../../src/schema/index.ts';
import { TINY, TINY_INPUT } from './helpers.ts';

/** The same object with its keys (at every depth) in reverse order. */
function reversedKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reversedKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.entries(value)
      .reverse()
      .map(([key, member]) => [key, reversedKeys(member)]),
  );
}

describe('canonicalJson', () => {
  it('sorts keys at every depth, keeps array order and writes no whitespace', () => {
    expect(canonicalJson({ b: [3, { d: 1, c: 2 }], a: 'x y' })).toBe('{"a":"x y","b":[3,{"c":2,"d":1}]}');
  });

  it('drops undefined members as JSON.stringify does', () => {
    expect(canonicalJson({ a: undefined, b: null, c: [undefined] })).toBe('{"b":null,"c":[null]}');
  });

  it('round-trips to the same value', () => {
    expect(JSON.parse(canonicalJson(TINY))).toEqual(JSON.parse(JSON.stringify(TINY)));
  });
});

describe('planJobId', () => {
  it('does not depend on key order', () => {
    // Not re-parsed: zod would put the keys back in schema order and hide what is tested here.
    const reordered = reversedKeys(TINY) as PlanRequest;
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(TINY));
    expect(planJobId(reordered)).toBe(planJobId(TINY));
  });

  it('does not depend on whether defaults were written out', () => {
    const explicit = PlanRequest.parse({
      ...TINY_INPUT,
      training: { ...TINY_INPUT.training, precision: 'bf16', optimizer: 'adam' },
      options: { timeLimitSec: 60, memoryHeadroom: 0.9 },
    });
    expect(planJobId(explicit)).toBe(planJobId(TINY));
  });

  it('changes with any value', () => {
    const ids = new Set([
      planJobId(TINY),
      planJobId(PlanRequest.parse({ ...TINY_INPUT, training: { globalBatch: 32 } })),
      planJobId(PlanRequest.parse({ ...TINY_INPUT, cluster: { ...TINY_INPUT.cluster, nodes: 2 } })),
      planJobId(PlanRequest.parse({ ...TINY_INPUT, options: { timeLimitSec: 61 } })),
    ]);
    expect(ids.size).toBe(4);
    expect(planJobId(TINY)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('keeps plan and sweep ids apart', () => {
    const sweep = SweepRequest.parse({ base: TINY, grid: {} });
    expect(sweepId(sweep)).not.toBe(planJobId(TINY));
    expect(sweepId(SweepRequest.parse({ base: TINY_INPUT, grid: {} }))).toBe(sweepId(sweep));
  });
});
