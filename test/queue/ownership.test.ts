import { afterEach, describe, expect, it } from 'vitest';
import { keyId } from '../../src/http/auth.ts';
import { BullJobQueue } from '../../src/queue/bullmq-queue.ts';
import { ownerOfJobId, planJobId, sweepId } from '../../src/queue/canonical.ts';
import { SweepRequest } from '../../src/schema/index.ts';
import { dropQueue, freshQueueName, REDIS_URL, TINY, TINY_INPUT } from './helpers.ts';

const A = keyId('key-a');
const B = keyId('key-b');

describe('job ids scoped by API key', () => {
  it('are distinct per key, carry the key id, and leave unkeyed ids as they were', () => {
    expect(planJobId(TINY, A)).not.toBe(planJobId(TINY, B));
    expect(ownerOfJobId(planJobId(TINY, A))).toBe(A);
    expect(ownerOfJobId(planJobId(TINY))).toBeNull();
    expect(planJobId(TINY)).toMatch(/^[0-9a-f]{64}$/);
    // A key id cannot be forged by a hash that merely starts like one: the whole shape is checked.
    expect(ownerOfJobId(`${A}-x`)).toBeNull();
    const sweep = SweepRequest.parse({ base: TINY_INPUT, grid: { 'training.globalBatch': [16, 32] } });
    expect(ownerOfJobId(sweepId(sweep, B))).toBe(B);
  });

  describe('on BullMQ', () => {
    const names: string[] = [];
    afterEach(async () => {
      await Promise.all(names.splice(0).map(dropQueue));
    });

    it('deduplicates within a key only, for plans and sweep points', async () => {
      const name = freshQueueName();
      names.push(name);
      const queue = new BullJobQueue({ redisUrl: REDIS_URL, queueName: name });
      try {
        const a = await queue.submit(TINY, A);
        const b = await queue.submit(TINY, B);
        const again = await queue.submit(TINY, A);
        expect([a.created, b.created, again.created]).toEqual([true, true, false]);
        expect(again.job.id).toBe(a.job.id);
        expect(b.job.id).not.toBe(a.job.id);
        const sweep = await queue.submitSweep(
          SweepRequest.parse({ base: TINY_INPUT, grid: { 'training.globalBatch': [16, 32] } }),
          B,
        );
        expect(ownerOfJobId(sweep.id)).toBe(B);
        expect(sweep.rows.map((row) => ownerOfJobId(row.jobId))).toEqual([B, B]);
        // Key b's sweep point identical to its own plain submission shares that job; key a's does not.
        expect(sweep.rows[0]!.jobId).toBe(b.job.id);
      } finally {
        await queue.close();
      }
    });
  });
});
