import { describe, expect, it } from 'vitest';
import { evenlySpaced, MAX_ALTERNATIVES } from '../../src/planner/alternatives.ts';
import { plan } from '../../src/planner/plan.ts';
import type { Plan, PlanRequestInput, Summary } from '../../src/schema/index.ts';

/** A 1.3B GPT on 16 A100-40GB: several configurations fit, trading step time against memory. */
const REQUEST = {
  model: { kind: 'transformer', layers: 16, hidden: 2048, heads: 16, vocab: 50_000, seqLen: 2048 },
  cluster: { gpu: 'A100-40GB', nodes: 2, gpusPerNode: 8, pricePerGpuHour: 1.5 },
  training: { globalBatch: 64, tokens: 2.6e10 },
} satisfies PlanRequestInput;

let planned: Promise<Plan> | null = null;
const answer = () => {
  planned ??= plan(REQUEST);
  return planned;
};

/** The oracle: pairwise, from the definition. */
const dominates = (a: Summary, b: Summary) =>
  a.stepTimeSec <= b.stepTimeSec &&
  a.peakMemoryBytes <= b.peakMemoryBytes &&
  (a.stepTimeSec < b.stepTimeSec || a.peakMemoryBytes < b.peakMemoryBytes);

describe("a plan's alternatives", () => {
  it('are non-dominated over (step time, peak memory), fastest first, at most 16', async () => {
    const { alternatives } = await answer();
    expect(alternatives.length).toBeGreaterThan(2);
    expect(alternatives.length).toBeLessThanOrEqual(MAX_ALTERNATIVES);
    for (const a of alternatives) {
      for (const b of alternatives) expect(dominates(a.summary, b.summary)).toBe(false);
    }
    const times = alternatives.map((a) => a.summary.stepTimeSec);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it('include the chosen plan once, as its summary says', async () => {
    const answered = await answer();
    const chosen = answered.alternatives.filter((a) => a.chosen);
    expect(chosen).toEqual([{ summary: answered.summary, chosen: true }]);
  });

  it('carry their own days, GPU-hours and dollars on the same GPUs', async () => {
    for (const { summary } of (await answer()).alternatives) {
      expect(summary.gpus).toBe(16);
      const tokensPerSec = (64 * 2048) / summary.stepTimeSec;
      expect(summary.trainingDays).toBeCloseTo(2.6e10 / tokensPerSec / 86_400, 9);
      expect(summary.costUsd).toBeCloseTo(1.5 * 16 * summary.trainingDays! * 24, 6);
    }
  });

  it('are empty without a plan', async () => {
    const infeasible = await plan({
      ...REQUEST,
      cluster: { gpu: 'A100-40GB', nodes: 1, gpusPerNode: 1 },
      model: { ...REQUEST.model, layers: 64, hidden: 8192, heads: 64 },
    });
    expect(infeasible.status).toBe('infeasible');
    expect(infeasible.alternatives).toEqual([]);
  });
});

describe('evenlySpaced', () => {
  it('keeps the ends and spreads the rest by index', () => {
    const items = Array.from({ length: 31 }, (_, i) => i);
    expect(evenlySpaced(items, 4)).toEqual([0, 10, 20, 30]);
    expect(evenlySpaced(items, 31)).toEqual(items);
    expect(evenlySpaced([1, 2], 15)).toEqual([1, 2]);
    for (let n = 16; n < 60; n++) {
      const picked = evenlySpaced(
        Array.from({ length: n }, (_, i) => i),
        15,
      );
      expect(new Set(picked).size).toBe(15);
      expect([picked[0], picked.at(-1)]).toEqual([0, n - 1]);
    }
  });
});
