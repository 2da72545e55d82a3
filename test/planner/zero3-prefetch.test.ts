/**
 * ZeRO-3 that fits only gathering each layer when it runs: the estimate and the search fall back to
 * it where the request leaves prefetching open, the frameworks that always prefetch refuse it, and
 * DeepSpeed's export turns prefetching off. Memory is compared with closed forms of the layers.
 */
import { describe, expect, it } from 'vitest';
import { estimate } from '../../src/planner/estimate.ts';
import { plan } from '../../src/planner/plan.ts';
import type { PlanRequestInput } from '../../src/schema/index.ts';

const h = 4096;
const vocab = 51200;
const seqLen = 2048;
/** GPT's largest layer here: the token and learned position tables (a block is 12h² + 13h, smaller). */
const largestLayer = (vocab + seqLen) * h;
const WEIGHT_BYTES = 2;

function request(parallel: Record<string, unknown>, options: Record<string, unknown> = {}): PlanRequestInput {
  return {
    model: { kind: 'transformer', layers: 8, hidden: h, heads: 32, vocab, seqLen },
    cluster: { gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 },
    training: { globalBatch: 8, precision: 'bf16' },
    parallel: { tp: 1, pp: 1, dp: 8, microBatch: 1, zero: 3, recompute: 'full', ...parallel },
    options,
  } as PlanRequestInput;
}

/** A memory headroom between what the plan needs with and without prefetching. */
async function headroomBetween(): Promise<{ headroom: number; ahead: number; waited: number }> {
  const ahead = (await estimate(request({ zero3Prefetch: true }))).summary!.peakMemoryBytes;
  const waited = (await estimate(request({ zero3Prefetch: false }))).summary!.peakMemoryBytes;
  const capacity = 80 * 2 ** 30;
  return { headroom: (ahead + waited) / 2 / capacity, ahead, waited };
}

describe('ZeRO-3 without prefetching', () => {
  it('holds one layer fewer: the largest layer’s parameters (closed form)', async () => {
    const { ahead, waited } = await headroomBetween();
    expect(ahead - waited).toBe(largestLayer * WEIGHT_BYTES);
  });

  it('an estimate that does not fit prefetching falls back to it, slower, and says so', async () => {
    const { headroom } = await headroomBetween();
    const open = await estimate(request({}, { memoryHeadroom: headroom }));
    expect(open.status).toBe('optimal');
    expect(open.summary!.zero3Prefetch).toBe(false);
    const fast = await estimate(request({}));
    expect(fast.summary!.zero3Prefetch).toBe(true);
    expect(open.summary!.stepTimeSec).toBeGreaterThan(fast.summary!.stepTimeSec);
    // Pinned to prefetching, it does not fit.
    const pinned = await estimate(request({ zero3Prefetch: true }, { memoryHeadroom: headroom }));
    expect(pinned.status).toBe('infeasible');
  });

  it('where neither fits, the reason gives both figures', async () => {
    const { waited } = await headroomBetween();
    const tight = await estimate(request({}, { memoryHeadroom: (0.9 * waited) / (80 * 2 ** 30) }));
    expect(tight.status).toBe('infeasible');
    expect(tight.reason).toContain(`${(waited / 2 ** 30).toFixed(2)} GiB without ZeRO-3 prefetching`);
  });

  it('DeepSpeed runs it with stage3_prefetch_bucket_size 0; FSDP2, Megatron-FSDP and XLA cannot be told', async () => {
    const { headroom } = await headroomBetween();
    const deepspeed = await estimate(request({}, { memoryHeadroom: headroom, target: 'deepspeed' }));
    expect(deepspeed.status).toBe('optimal');
    expect(deepspeed.exports!.deepspeed.expressible).toBe(true);
    expect(deepspeed.exports!.deepspeed.config.zero_optimization).toMatchObject({
      stage: 3,
      stage3_prefetch_bucket_size: 0,
    });
    for (const framework of ['torchtitan', 'megatron', 'jax'] as const) {
      expect(deepspeed.exports![framework].expressible, framework).toBe(false);
    }
    const torchtitan = await estimate(request({}, { memoryHeadroom: headroom, target: 'torchtitan' }));
    expect(torchtitan.status).toBe('infeasible');
    await expect(estimate(request({ zero3Prefetch: false }, { target: 'torchtitan' }))).rejects.toThrow(
      /FSDP2 always gathers the next layer/,
    );
  });

  it('the search reaches it as ZeRO-3’s last step when nothing else fits', async () => {
    const { headroom } = await headroomBetween();
    const pinned = { tp: 1, pp: 1, dp: 8, microBatch: 1, zero: 3, recompute: 'full' };
    const found = await plan(request(pinned, { memoryHeadroom: headroom, timeLimitSec: 60 }));
    expect(found.status).toBe('optimal');
    expect(found.summary!.zero3Prefetch).toBe(false);
  });

  it('the search plans it where the request pins it, fitting or not with prefetching', async () => {
    const pinned = { tp: 1, pp: 1, dp: 8, microBatch: 1, zero: 3, recompute: 'full', zero3Prefetch: false };
    const found = await plan(request(pinned, { timeLimitSec: 60 }));
    expect(found.status).toBe('optimal');
    expect(found.summary!.zero3Prefetch).toBe(false);
  });

  it('a prefetch pin with another ZeRO stage pinned is a 4xx naming the field', async () => {
    await expect(estimate(request({ zero: 1, zero3Prefetch: false }))).rejects.toThrow(/zero3Prefetch/);
  });
});
