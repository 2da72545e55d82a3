/**
 * Sweeps on BullMQ: a record in Redis (`meshplan:<queue>:sweep:<id>`) listing each point and its job
 * id (see bullmq-queue.ts for why not a FlowProducer). Rows are read in bulk: a finished point's row
 * comes from its small outline key rather than from its full plan.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Plan, PlanJob, PlanRequest, Sweep, SweepRequest } from '../schema/index.ts';
import { expandSweep } from '../sweep/grid.ts';
import { type PointJob, sweepOf, sweepRow } from '../sweep/rows.ts';
import { validatePlanRequest } from './admission.ts';
import { statusOf } from './bull-job-view.ts';
import {
  decodeFailure,
  PLAN_JOB_NAME,
  type PlanJobData,
  PlanOutline,
  type QueueKeys,
  SweepRecord,
} from './bull-protocol.ts';
import { planJobId, sweepId } from './canonical.ts';

type Enqueue = (
  request: PlanRequest,
  sweepId: string | null,
  owner: string | null,
) => Promise<{ job: PlanJob; created: boolean }>;

/** Keys per MGET and jobs per addBulk: large enough to save round trips, small enough not to stall Redis. */
const BATCH = 1000;
/** Known points restarted at once (each is a few round trips). */
const RESTART_PARALLELISM = 50;

export class BullSweeps {
  constructor(
    private readonly queue: Queue<PlanJobData, Plan>,
    private readonly client: Redis,
    private readonly keys: QueueKeys,
    private readonly keepResultsSec: number,
    private readonly enqueue: Enqueue,
  ) {}

  async submit(sweep: SweepRequest, owner: string | null): Promise<Sweep> {
    const points = expandSweep(sweep, validatePlanRequest);
    const id = sweepId(sweep, owner);
    const entries = points.map(({ point, request }) => ({
      jobId: planJobId(request, owner),
      point,
      request,
    }));
    // Jobs first: a reader never finds a sweep listing jobs that are not there yet.
    await this.queueAll(id, new Map(entries.map(({ jobId, request }) => [jobId, request])), owner);
    const record: SweepRecord = { points: entries.map(({ jobId, point }) => ({ jobId, point })) };
    await this.client.set(this.keys.sweep(id), JSON.stringify(record), 'EX', this.keepResultsSec);
    return (await this.get(id))!;
  }

  async get(id: string): Promise<Sweep | null> {
    const raw = await this.client.get(this.keys.sweep(id));
    if (raw === null) return null;
    const record = SweepRecord.parse(JSON.parse(raw));
    const jobs = await this.pointJobs([...new Set(record.points.map(({ jobId }) => jobId))]);
    return sweepOf(
      id,
      record.points.map(({ jobId, point }) => sweepRow(jobId, point, jobs.get(jobId)!)),
    );
  }

  /** New points are added in bulk; known ones go through `enqueue`, which restarts cancelled and failed ones. */
  private async queueAll(
    sweepId: string,
    requests: ReadonlyMap<string, PlanRequest>,
    owner: string | null,
  ): Promise<void> {
    const ids = [...requests.keys()];
    const [states, tombstones] = await Promise.all([
      Promise.all(ids.map((id) => this.queue.getJobState(id))),
      this.mget(ids.map(this.keys.tombstone)),
    ]);
    const fresh = ids.filter((_, i) => states[i] === 'unknown' && tombstones[i] === null);
    const stopped = ids.filter((_, i) => states[i] === 'failed' || tombstones[i] !== null);
    for (let i = 0; i < fresh.length; i += BATCH) {
      await this.queue.addBulk(
        fresh.slice(i, i + BATCH).map((id) => ({
          name: PLAN_JOB_NAME,
          data: { request: requests.get(id)!, sweepId },
          opts: { jobId: id },
        })),
      );
    }
    for (let i = 0; i < stopped.length; i += RESTART_PARALLELISM) {
      await Promise.all(
        stopped
          .slice(i, i + RESTART_PARALLELISM)
          .map((id) => this.enqueue(requests.get(id)!, sweepId, owner)),
      );
    }
  }

  private async pointJobs(ids: readonly string[]): Promise<Map<string, PointJob>> {
    const jobs = new Map<string, PointJob>();
    const outlines = await this.mget(ids.map(this.keys.outline));
    const rest: string[] = [];
    ids.forEach((id, i) => {
      const outline = parseOutline(outlines[i] ?? null);
      if (outline) jobs.set(id, { status: 'succeeded', plan: outline });
      else rest.push(id);
    });
    if (rest.length === 0) return jobs;
    const [states, marks, tombstones] = await Promise.all([
      Promise.all(rest.map((id) => this.queue.getJobState(id))),
      this.mget(rest.map(this.keys.cancelMark)),
      this.mget(rest.map(this.keys.tombstone)),
    ]);
    // Only failed jobs need their reason (cancelled or failed), and only a completed job whose outline
    // is missing needs its plan.
    const extras = await Promise.all(
      rest.map((id, i) => {
        const field =
          states[i] === 'failed' ? 'failedReason' : states[i] === 'completed' ? 'returnvalue' : null;
        return field === null ? null : this.client.hget(this.queue.toKey(id), field);
      }),
    );
    rest.forEach((id, i) => {
      const state = states[i]!;
      if (state === 'unknown') {
        // Gone from BullMQ: cancelled before it ran, or its results expired before the sweep's record.
        jobs.set(id, { status: tombstones[i] === null ? 'failed' : 'cancelled', plan: null });
      } else if (state === 'completed') {
        jobs.set(id, { status: 'succeeded', plan: parseOutline(extras[i] ?? null) });
      } else {
        const status = statusOf(state, state === 'failed' ? decodeFailure(extras[i] ?? undefined) : null)!;
        const cancelling = marks[i] !== null && (status === 'queued' || status === 'running');
        jobs.set(id, { status: cancelling ? 'cancelled' : status, plan: null });
      }
    });
    return jobs;
  }

  private async mget(keys: readonly string[]): Promise<(string | null)[]> {
    const values: (string | null)[] = [];
    for (let i = 0; i < keys.length; i += BATCH)
      values.push(...(await this.client.mget(keys.slice(i, i + BATCH))));
    return values;
  }
}

function parseOutline(raw: string | null): PlanOutline | null {
  if (raw === null) return null;
  try {
    const parsed = PlanOutline.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
