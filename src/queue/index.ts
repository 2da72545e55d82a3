/**
 * The job queue (DESIGN.md §7): BullMQ on Redis when a URL is given, else the embedded inline queue.
 */
import { BullJobQueue } from './bullmq-queue.ts';
import { InlineJobQueue } from './inline-queue.ts';
import type { JobQueue } from './job-queue.ts';

export interface JobQueueOptions {
  /** REDIS_URL: jobs go to BullMQ and `meshplan worker` processes plan them. */
  readonly redisUrl?: string;
  /** BullMQ queue name (default `plans`). */
  readonly queueName?: string;
  /** Inline only: jobs planned at once (default: CPUs − 1, at least 1). */
  readonly concurrency?: number;
  /** How long finished jobs and sweeps stay readable (default 24 h). */
  readonly keepResultsSec?: number;
  /** BullMQ only: tries per job, the first included (default 3). */
  readonly attempts?: number;
  /** BullMQ only: Redis connection errors (default: a line on stderr). */
  readonly onError?: (error: Error) => void;
}

export function createJobQueue(options: JobQueueOptions = {}): JobQueue {
  const { redisUrl, queueName, concurrency, keepResultsSec, attempts, onError } = options;
  if (redisUrl) {
    return new BullJobQueue({
      redisUrl,
      ...(queueName !== undefined ? { queueName } : {}),
      ...(keepResultsSec !== undefined ? { keepResultsSec } : {}),
      ...(attempts !== undefined ? { attempts } : {}),
      ...(onError !== undefined ? { onError } : {}),
    });
  }
  return new InlineJobQueue({
    ...(concurrency !== undefined ? { concurrency } : {}),
    ...(keepResultsSec !== undefined ? { keepResultsMs: keepResultsSec * 1000 } : {}),
  });
}

export type { JobQueue } from './job-queue.ts';
