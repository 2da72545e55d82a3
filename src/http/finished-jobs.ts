import type { PlanJob } from '../schema/index.ts';

/**
 * Serialised answers of succeeded jobs, which never change: a repeated GET (or a deduplicated POST)
 * then costs neither a queue round trip nor re-validating a ~20 KB plan. Bounded in size and age so
 * an expired job is not served forever.
 */
export class FinishedJobs {
  private readonly entries = new Map<string, { json: string; until: number }>();

  constructor(
    private readonly maxEntries = 2000,
    private readonly ttlMs = 60_000,
  ) {}

  get(id: string): string | undefined {
    const entry = this.entries.get(id);
    if (entry === undefined) return undefined;
    if (entry.until < Date.now()) {
      this.entries.delete(id);
      return undefined;
    }
    return entry.json;
  }

  /** Remembers a succeeded job and returns its JSON; null for any other status. */
  remember(job: PlanJob): string | null {
    if (job.status !== 'succeeded') return null;
    const json = JSON.stringify(job);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(job.id, { json, until: Date.now() + this.ttlMs });
    return json;
  }
}
