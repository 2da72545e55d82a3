/**
 * Waiting for BullMQ jobs to finish without polling Redis per waiter: one QueueEvents stream per queue
 * wakes the waiters of a job when it completes or fails. Waiters still re-check every `pollMs`, for the
 * changes no event announces (a cancel by another API instance) and for events missed on a reconnect;
 * until the stream is connected (a wait never blocks on it) they re-check every STARTING_POLL_MS.
 */
import { QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';

const STARTING_POLL_MS = 50;
/** QueueEvents.close() can wait on a connection that is not coming back; shutdown does not. */
const CLOSE_TIMEOUT_MS = 1000;

export class FinishWatch {
  private readonly waiters = new Map<string, Set<() => void>>();
  private stream: { readonly events: QueueEvents; readonly connection: Redis } | null = null;
  private connected = false;
  private closed = false;
  private readonly start: () => void;

  /**
   * The stream starts once `client` is connected (events only flow from the moment it is read); a
   * stream opened against an unreachable Redis could not be closed cleanly.
   */
  constructor(
    queueName: string,
    private readonly client: Redis,
    private readonly pollMs = 1000,
    onError: (error: Error) => void = () => {},
  ) {
    this.start = () => {
      if (this.stream !== null || this.closed) return;
      // QueueEvents blocks on XREAD: it needs its own connection, one that never gives up on a command
      // and waits out an outage (the API's client fails fast instead).
      const connection = client.duplicate({ maxRetriesPerRequest: null, enableOfflineQueue: true });
      connection.on('error', onError);
      const events = new QueueEvents(queueName, { connection });
      events.on('error', onError);
      events.on('completed', ({ jobId }) => this.wake(jobId));
      events.on('failed', ({ jobId }) => this.wake(jobId));
      events.waitUntilReady().then(() => {
        this.connected = true;
      }, onError);
      this.stream = { events, connection };
    };
    if (client.status === 'ready') this.start();
    else client.once('ready', this.start);
  }

  /**
   * Runs `check` until it reports done: again whenever job `id` finishes, and at least every `pollMs`.
   * Returns the value of the last check: the one that was done, or the one at `timeoutMs` (or close).
   */
  async until<T>(
    id: string,
    timeoutMs: number,
    check: () => Promise<{ done: boolean; value: T }>,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Listen before checking, so a finish between the check and the wait is not missed.
      const pollMs = this.connected ? this.pollMs : STARTING_POLL_MS;
      const { woken, stop } = this.listen(id, Math.max(0, Math.min(pollMs, deadline - Date.now())));
      let result: { done: boolean; value: T };
      try {
        result = await check();
      } catch (error) {
        stop();
        throw error;
      }
      if (result.done || this.closed || Date.now() >= deadline) {
        stop();
        return result.value;
      }
      await woken;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.client.off('ready', this.start);
    for (const stop of [...this.waiters.values()].flatMap((set) => [...set])) stop();
    if (this.stream === null) return;
    const { events, connection } = this.stream;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      events.close().catch(() => {}),
      new Promise((resolve) => {
        timer = setTimeout(resolve, CLOSE_TIMEOUT_MS);
      }),
    ]);
    clearTimeout(timer);
    connection.disconnect();
  }

  private listen(id: string, ms: number): { woken: Promise<void>; stop: () => void } {
    const waiting = this.waiters.get(id) ?? new Set<() => void>();
    this.waiters.set(id, waiting);
    let stop = () => {};
    const woken = new Promise<void>((resolve) => {
      const timer = setTimeout(() => stop(), ms);
      stop = () => {
        clearTimeout(timer);
        waiting.delete(stop);
        if (waiting.size === 0 && this.waiters.get(id) === waiting) this.waiters.delete(id);
        resolve();
      };
      waiting.add(stop);
    });
    return { woken, stop };
  }

  private wake(id: string): void {
    for (const stop of [...(this.waiters.get(id) ?? [])]) stop();
  }
}
