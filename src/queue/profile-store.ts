/**
 * Calibration profiles made by `POST /v1/calibrations`, kept where the plans are: in memory with the
 * inline queue, in Redis when REDIS_URL is set (so every API instance and worker sees them). Profiles
 * do not expire: plans name them for as long as the cluster runs.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { CalibrationProfile } from '../schema/index.ts';

export interface ProfileStore {
  /** Stores a profile under a new id. */
  save(profile: CalibrationProfile): Promise<string>;
  /** The profile with this id; null when none has it. */
  load(id: string): Promise<CalibrationProfile | null>;
  close(): Promise<void>;
}

function newProfileId(): string {
  return `cal-${randomUUID()}`;
}

export class MemoryProfileStore implements ProfileStore {
  private readonly profiles = new Map<string, CalibrationProfile>();

  async save(profile: CalibrationProfile): Promise<string> {
    const id = newProfileId();
    this.profiles.set(id, profile);
    return id;
  }

  async load(id: string): Promise<CalibrationProfile | null> {
    return this.profiles.get(id) ?? null;
  }

  async close(): Promise<void> {}
}

const KEY_PREFIX = 'meshplan:profile:';

export class RedisProfileStore implements ProfileStore {
  private readonly client: Redis;

  constructor(redisUrl: string) {
    // Commands wait for the first connection, then fail after one retry while Redis is away.
    this.client = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    this.client.on('error', () => {});
  }

  async save(profile: CalibrationProfile): Promise<string> {
    const id = newProfileId();
    await this.client.set(`${KEY_PREFIX}${id}`, JSON.stringify(profile));
    return id;
  }

  async load(id: string): Promise<CalibrationProfile | null> {
    const text = await this.client.get(`${KEY_PREFIX}${id}`);
    return text === null ? null : CalibrationProfile.parse(JSON.parse(text));
  }

  async close(): Promise<void> {
    await this.client.quit().catch(() => this.client.disconnect());
  }
}

export function createProfileStore(redisUrl?: string): ProfileStore {
  return redisUrl ? new RedisProfileStore(redisUrl) : new MemoryProfileStore();
}
