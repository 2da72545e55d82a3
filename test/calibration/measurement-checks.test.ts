import { describe, expect, it } from 'vitest';
import { GiB } from '../../src/cluster/gpus/common.ts';
import { FIT_EVALUATION_BUDGET, type FitProgress } from '../../src/planner/calibration/fit.ts';
import { calibrateProfile } from '../../src/planner/calibration/user-profile.ts';
import { estimate } from '../../src/planner/estimate.ts';
import { InvalidInputError } from '../../src/schema/index.ts';
import { measuredUnder, smallRun } from './helpers.ts';

/** The InvalidInputError `run` throws. */
async function refusal(run: () => Promise<unknown>): Promise<InvalidInputError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof InvalidInputError) return error;
    throw error;
  }
  throw new Error('expected an InvalidInputError');
}

// Factors far from the catalog's, as a user's cluster might show.
const truth = { matmul: 0.55, attention: 0.6, memory: 0.6, tpOverlap: 0.5, network: 0.96 };

describe('calibration refuses and flags measurements the model cannot be fitted to', () => {
  it("refuses a step time below what the run's FLOPs take at the GPU's peak", async () => {
    const request = smallRun(1, 8, 1);
    // Closed form, independent of the cost model: 6 FLOPs a parameter a token for the blocks'
    // 12·L·h² weights and the output layer's V·h, on 8 A100s at their 312 TFLOP/s dense BF16 peak.
    const { layers, hidden, vocab, seqLen } = { layers: 4, hidden: 1024, vocab: 8192, seqLen: 1024 };
    const tokens = 32 * seqLen;
    const flops = 6 * (12 * layers * hidden ** 2 + vocab * hidden) * tokens;
    const atPeakSec = flops / (8 * 312e12);
    const body = { runs: [{ name: 'too-fast', request, measured: { stepTimeSec: atPeakSec / 2 } }] };
    const error = await refusal(() => calibrateProfile(body));
    expect(error.issues.map((i) => i.path)).toEqual(['runs[0].measured.stepTimeSec']);
    expect(error.issues[0]!.message).toMatch(/faster than this configuration runs/);
  });

  it('reports measured peak memory against the estimate, and flags a run predicted not to fit', async () => {
    const fits = smallRun(2, 4, 1);
    // The same run planned into a sliver of the GPU: the estimate cannot fit it, yet it "ran".
    const tight = { ...smallRun(4, 2, 2), options: { memoryHeadroom: 0.001 } };
    const body: { runs: { measured: { stepTimeSec: number; peakMemoryGiB?: number } }[] } =
      await measuredUnder(truth, [fits, tight, smallRun(8, 1, 1)]);
    const peaks = [];
    for (const request of [fits, tight]) peaks.push((await estimate(request)).summary!.peakMemoryBytes / GiB);
    body.runs[0]!.measured = { ...body.runs[0]!.measured, peakMemoryGiB: peaks[0]! };
    body.runs[1]!.measured = { ...body.runs[1]!.measured, peakMemoryGiB: 2 * peaks[1]! };
    const profile = await calibrateProfile(body);
    const memory = profile.memoryResiduals!;
    expect(memory.map((m) => m.run)).toEqual(['run0', 'run1']);
    expect(memory[0]!.errorPct).toBeCloseTo(0, 6);
    expect(memory[0]!.predictedToFit).toBe(true);
    expect(memory[1]!.errorPct).toBeCloseTo(-50, 6);
    // A100-80GB holds 80 GiB; the request plans into a thousandth of it.
    expect(memory[1]!.capacityGiB).toBeCloseTo(0.08, 6);
    expect(memory[1]!.predictedToFit).toBe(peaks[1]! <= 0.08);
    expect(memory[1]!.predictedToFit).toBe(false);
    expect(profile.warnings!.filter((w) => w.startsWith('run1: ran in'))).toHaveLength(1);
    expect(profile.warnings!.some((w) => w.startsWith('run0'))).toBe(false);
  });

  it('names a run the fitted factors leave far off, and none when all agree', async () => {
    const requests = [smallRun(1, 8, 1), smallRun(2, 4, 1), smallRun(8, 1, 1), smallRun(1, 8, 4)];
    const agreeing = await measuredUnder(truth, requests);
    const progress: FitProgress[] = [];
    const clean = await calibrateProfile(agreeing, { onProgress: (p) => progress.push(p) });
    expect(clean.warnings).toBeUndefined();
    // Progress: every evaluation reported in turn, within the budget the CLI's bar counts against,
    // the best error never rising and never above what the profile's factors give.
    expect(progress.map((p) => p.evaluations)).toEqual(progress.map((_, i) => i + 1));
    expect(progress.length).toBeLessThanOrEqual(FIT_EVALUATION_BUDGET);
    for (let i = 1; i < progress.length; i++)
      expect(progress[i]!.bestMeanAbsErrorPct).toBeLessThanOrEqual(progress[i - 1]!.bestMeanAbsErrorPct);
    const finalError =
      clean.residuals.reduce((sum, r) => sum + Math.abs(r.errorPct), 0) / clean.residuals.length;
    expect(progress.at(-1)!.bestMeanAbsErrorPct).toBeLessThanOrEqual(finalError + 1e-9);
    const skewed = structuredClone(agreeing);
    skewed.runs[2]!.measured.stepTimeSec *= 1.8;
    const profile = await calibrateProfile(skewed);
    const residual = profile.residuals.find((r) => r.run === 'run2')!;
    expect(Math.abs(residual.errorPct)).toBeGreaterThan(15);
    expect(profile.warnings!.filter((w) => w.startsWith('run2: the fitted factors leave it'))).toHaveLength(
      1,
    );
    for (const r of profile.residuals.filter((r) => Math.abs(r.errorPct) <= 15))
      expect(profile.warnings!.some((w) => w.startsWith(`${r.run}:`))).toBe(false);
  });
});
