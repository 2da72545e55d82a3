import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { trainingCost } from '../../src/cost/training-cost.ts';
import { estimate } from '../../src/planner/estimate.ts';
import { parsePlanRequest } from '../../src/planner/request.ts';

describe('trainingCost', () => {
  it('a million tokens per second trains 86.4 billion tokens in a day; 100 GPUs at $2 cost $4,800 for it', () => {
    expect(
      trainingCost({ tokensPerSec: 1e6, stepTimeSec: 4, gpus: 100, tokens: 86.4e9, pricePerGpuHour: 2 }),
    ).toEqual({ trainingDays: 1, gpuHours: 2400, costUsd: 4800 });
  });

  it('without tokens, GPU-hours and dollars are per step: 100 GPUs × 36 s = 1 GPU-hour', () => {
    expect(
      trainingCost({ tokensPerSec: 1e6, stepTimeSec: 36, gpus: 100, tokens: undefined, pricePerGpuHour: 3 }),
    ).toEqual({ gpuHours: 1, costUsd: 3 });
  });

  it('without a price, only the days', () => {
    expect(
      trainingCost({
        tokensPerSec: 2e6,
        stepTimeSec: 1,
        gpus: 8,
        tokens: 1.728e11,
        pricePerGpuHour: undefined,
      }),
    ).toEqual({ trainingDays: 1 });
    expect(
      trainingCost({
        tokensPerSec: 2e6,
        stepTimeSec: 1,
        gpus: 8,
        tokens: undefined,
        pricePerGpuHour: undefined,
      }),
    ).toEqual({});
  });
});

describe('a plan summary with tokens and a price', () => {
  const request = async () => ({
    ...JSON.parse(
      await readFile(new URL('../../examples/llama3-70b-256xh100.request.json', import.meta.url), 'utf8'),
    ),
    parallel: { tp: 8, pp: 4, dp: 8, microBatch: 1, virtualStages: 5, recompute: 'full', zero: 1 },
  });

  it('Llama-3-70B on 256 H100 for 15T tokens at $2.50: days, GPU-hours and dollars by hand', async () => {
    const base = await request();
    const plan = await estimate({
      ...base,
      cluster: { ...base.cluster, pricePerGpuHour: 2.5 },
      training: { ...base.training, tokens: 15e12 },
    });
    const s = plan.summary!;
    // By hand: 512 sequences of 8,192 tokens per step.
    const tokensPerSec = (512 * 8192) / s.stepTimeSec;
    const days = 15e12 / tokensPerSec / 86_400;
    expect(s.gpus).toBe(256);
    expect(s.trainingDays).toBeCloseTo(days, 9);
    expect(s.gpuHours).toBeCloseTo(256 * days * 24, 3);
    expect(s.costUsd).toBeCloseTo(2.5 * 256 * days * 24, 3);
    // A plausibility bound, not a calibration: Meta's Llama 3 model card gives 6.4 M H100-80GB GPU-hours
    // for the 70B model on 15T+ tokens (with its own parallel setup, restarts and all).
    expect(Math.abs(s.gpuHours! / 6.4e6 - 1)).toBeLessThan(0.15);
  });

  it('a price without tokens costs one step; neither leaves the summary as it was', async () => {
    const base = await request();
    const priced = await estimate({ ...base, cluster: { ...base.cluster, pricePerGpuHour: 2.5 } });
    const s = priced.summary!;
    expect(s.trainingDays).toBeUndefined();
    expect(s.gpuHours).toBeCloseTo((256 * s.stepTimeSec) / 3600, 12);
    expect(s.costUsd).toBeCloseTo((2.5 * 256 * s.stepTimeSec) / 3600, 12);
    const plain = (await estimate(base)).summary!;
    expect(Object.keys(plain)).not.toContain('costUsd');
    expect(Object.keys(plain)).not.toContain('trainingDays');
  });
});

describe('training.tokens', () => {
  it('needs a transformer: a graph model has no sequence length to count tokens by', async () => {
    const graph = JSON.parse(
      await readFile(new URL('../../examples/mlp.graph.json', import.meta.url), 'utf8'),
    );
    const request = {
      model: { kind: 'graph', graph },
      cluster: { gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 },
      training: { globalBatch: 8, tokens: 1e9 },
    };
    expect(() => parsePlanRequest(request)).toThrow(
      expect.objectContaining({
        issues: [{ path: 'training.tokens', message: expect.stringMatching(/transformer/) }],
      }),
    );
  });
});
