import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryProfileStore, type ProfileStore, RedisProfileStore } from '../../src/queue/profile-store.ts';
import type { CalibrationProfile } from '../../src/schema/index.ts';
import { freePort } from '../e2e/processes.ts';
import { RedisServer } from '../reliability/redis-server.ts';

const PROFILE: CalibrationProfile = {
  kind: 'meshplan-profile',
  gpu: 'H100-80GB',
  factors: { matmul: 0.66, memory: 0.9 },
  fittedOn: 2,
  residuals: [{ run: 'a', measuredSec: 1, estimatedSec: 1.01, errorPct: 1 }],
  createdAt: '2026-01-01T00:00:00.000Z',
};

const redis = new RedisServer();
beforeAll(async () => redis.start(await freePort()), 20_000);
afterAll(() => redis.remove());

describe.each([
  ['memory', () => new MemoryProfileStore()],
  ['Redis', () => new RedisProfileStore(redis.url)],
] as const)('profiles in %s', (_name, make: () => ProfileStore) => {
  it('keeps a profile under a new id, the same for every reader, and knows no other id', async () => {
    const store = make();
    try {
      const first = await store.save(PROFILE);
      const second = await store.save(PROFILE);
      expect(first).not.toBe(second);
      expect(await store.load(first)).toEqual(PROFILE);
      expect(await store.load('cal-unknown')).toBeNull();
    } finally {
      await store.close();
    }
  });
});
