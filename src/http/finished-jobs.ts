import type { PlanJob } from '../schema/index.ts';

export interface FinishedJobsOptions {
  readonly maxEntries?: number;
  /** The JSON kept in all, counted in UTF-16 code units (a whole-model plan is 20–400 KB). */
  readonly maxChars?: number;
  readonly ttlMs?: number;
}

/**
 * Serialised answers of succeeded jobs, which never change: a repeated GET (or a deduplicated POST)
 * then costs neither a queue round trip nor re-validating a large plan. Bounded in count, size and
 * age so an expired job is not served forever and a busy API does not grow without bound.
 */
export class FinishedJobs {
  /** In insertion order, which is also expiry order: every entry lives the same ttl. */
  private readonly entries = new Map<string, { json: string; until: number }>();
  private readonly maxEntries: number;
  private readonly maxChars: number;
  private readonly ttlMs: number;
  private chars = 0;

  constructor(options: FinishedJobsOptions = {}) {
    this.maxEntries = options.maxEntries ?? 2000;
    this.maxChars = options.maxChars ?? 32 * 2 ** 20;
    this.ttlMs = options.ttlMs ?? 60_000;
  }

  get size(): number {
    return this.entries.size;
  }

  get storedChars(): number {
    return this.chars;
  }

  get(id: string): string | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.until < Date.now()) {
      this.forget(id);
      return undefined;
    }
    return entry.json;
  }

  /** Remembers a succeeded job and returns its JSON; null for any other status. */
  remember(job: PlanJob): string | null {
    if (job.status !== 'succeeded') return null;
    const json = JSON.stringify(job);
    this.forget(job.id);
    if (json.length > this.maxChars) return json;
    const now = Date.now();
    // Oldest first: expired entries, then as many as the new one needs room for.
    for (const [id, entry] of this.entries) {
      const full = this.entries.size >= this.maxEntries || this.chars + json.length > this.maxChars;
      if (!full && entry.until >= now) break;
      this.forget(id);
    }
    this.entries.set(job.id, { json, until: now + this.ttlMs });
    this.chars += json.length;
    return json;
  }

  private forget(id: string): void {
    const entry = this.entries.get(id);
    if (entry === undefined) return;
    this.chars -= entry.json.length;
    this.entries.delete(id);
  }
}
