import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS, LIMIT_ENV, limitsFromEnv } from '../../src/http/limits.ts';
import { InvalidInputError } from '../../src/schema/errors.ts';

describe('limits from the environment', () => {
  it('keeps the documented defaults when nothing (or blanks) is set', () => {
    expect(limitsFromEnv({})).toEqual(DEFAULT_LIMITS);
    expect(limitsFromEnv({ MESHPLAN_MAX_WAIT_SEC: '  ' })).toEqual(DEFAULT_LIMITS);
    expect(DEFAULT_LIMITS).toMatchObject({ bodyBytes: 8 * 2 ** 20, waitSec: 60, sweepPoints: 10_000 });
  });

  it('reads every limit from its variable', () => {
    const env = Object.fromEntries(Object.values(LIMIT_ENV).map((name, i) => [name, String(2000 + i)]));
    const limits = limitsFromEnv(env);
    for (const [i, field] of Object.keys(LIMIT_ENV).entries()) {
      expect(limits[field as keyof typeof limits]).toBe(2000 + i);
    }
  });

  it('names the variable of a bad value', () => {
    let caught: unknown;
    try {
      limitsFromEnv({ MESHPLAN_MAX_CLUSTER_GPUS: 'lots', MESHPLAN_MAX_SWEEP_POINTS: '20000' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(InvalidInputError);
    expect((caught as InvalidInputError).issues.map((issue) => issue.path).sort()).toEqual([
      'MESHPLAN_MAX_CLUSTER_GPUS',
      'MESHPLAN_MAX_SWEEP_POINTS',
    ]);
  });
});
