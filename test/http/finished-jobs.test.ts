import { afterEach, describe, expect, it, vi } from 'vitest';
import { FinishedJobs } from '../../src/http/finished-jobs.ts';
import type { PlanJob } from '../../src/schema/index.ts';

function job(id: string, padding = 0, status: PlanJob['status'] = 'succeeded'): PlanJob {
  return {
    id,
    status,
    progress: { phase: 'done', fraction: 1 },
    createdAt: 'x'.repeat(padding),
    startedAt: null,
    finishedAt: null,
    plan: null,
    error: null,
    sweepId: null,
  };
}

describe('FinishedJobs', () => {
  afterEach(() => vi.useRealTimers());

  it('serves a succeeded job until its ttl and nothing else', () => {
    vi.useFakeTimers();
    const cache = new FinishedJobs({ ttlMs: 1000 });
    expect(cache.remember(job('a', 0, 'running'))).toBeNull();
    const json = cache.remember(job('b'));
    expect(cache.get('b')).toBe(json);
    expect(JSON.parse(cache.get('b')!).id).toBe('b');
    vi.advanceTimersByTime(1001);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.size).toBe(0);
    expect(cache.storedChars).toBe(0);
  });

  it('keeps the stored JSON under its size bound by dropping the oldest', () => {
    const cache = new FinishedJobs({ maxChars: 1000 });
    for (let i = 0; i < 20; i++) cache.remember(job(`j${i}`, 200));
    expect(cache.storedChars).toBeLessThanOrEqual(1000);
    expect(cache.get('j19')).toBeDefined();
    expect(cache.get('j0')).toBeUndefined();
    // One answer larger than the whole bound is returned but not kept.
    expect(cache.remember(job('huge', 2000))).toContain('huge');
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.get('j19')).toBeDefined();
  });

  it('keeps at most maxEntries and counts a re-remembered job once', () => {
    const cache = new FinishedJobs({ maxEntries: 3 });
    for (const id of ['a', 'b', 'c', 'a', 'd']) cache.remember(job(id));
    expect(cache.size).toBe(3);
    expect(['a', 'b', 'c', 'd'].filter((id) => cache.get(id) !== undefined)).toEqual(['a', 'c', 'd']);
    const one = JSON.stringify(job('a')).length;
    expect(cache.storedChars).toBe(3 * one);
  });

  it('drops expired entries when new ones arrive, not only when they are read', () => {
    vi.useFakeTimers();
    const cache = new FinishedJobs({ ttlMs: 1000 });
    for (let i = 0; i < 5; i++) cache.remember(job(`old${i}`));
    vi.advanceTimersByTime(1500);
    cache.remember(job('new'));
    expect(cache.size).toBe(1);
  });
});
