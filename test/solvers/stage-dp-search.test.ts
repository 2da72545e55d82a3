import { describe, expect, it, vi } from 'vitest';
import { InvalidProblemError, SolveAbortedError } from '../../solvers/errors.ts';
import { type StageDpProblem, type StageDpResult, solveStageDp } from '../../solvers/stage-dp.ts';

type Memory = 'none' | 'loose' | 'binding';

/**
 * A GPT-like model in the planner's shape: embedding, `blocks` identical blocks, head; sub-meshes in whole
 * nodes; two options per cell (a faster one and a slower one that keeps fewer activations, like
 * recomputation). Interior ranges of equal length get bit-identical latencies, as memoised ILP solves would.
 */
function gptLike(blocks: number, totalDevices: number, microbatches: number, memory: Memory): StageDpProblem {
  const layers = blocks + 2;
  const submeshDevices = [1, 2, 3, 4, 6, 8, 12, 16].filter((d) => d <= totalDevices);
  const cost = (l: number) => (l === 0 ? 0.3 : l === layers - 1 ? 1.2 : 1) * 0.05;
  const prefix = [0];
  for (let l = 0; l < layers; l++) prefix.push(prefix[l]! + cost(l));
  const options = Array.from({ length: layers }, (_, first) =>
    Array.from({ length: layers - first }, (_, j) => {
      const last = first + j;
      const count = j + 1;
      const work = first > 0 && last < layers - 1 ? count * 0.05 : prefix[last + 1]! - prefix[first]!;
      return submeshDevices.map((d) =>
        [0, 1].map((tag) => {
          const efficiency = (tag === 0 ? 0.93 : 0.88) ** Math.log2(d);
          const latencySec =
            (work / d / efficiency) * (tag === 1 ? 1.25 : 1) + (tag === 0 ? 0.002 * Math.log2(2 * d) : 0);
          // Memory in node units: weights and optimizer state, plus activations per microbatch in flight.
          const staticMemory = (count * 0.09) / d;
          const activations = ((count * 0.02) / d) * (tag === 1 ? 0.15 : 1);
          const fits = Math.max(-1, Math.floor((1 - staticMemory) / activations) - 1);
          const maxStagesAfter =
            memory === 'none' ? Number.POSITIVE_INFINITY : memory === 'loose' ? fits + 40 : fits;
          return { latencySec, onceSec: (0.01 * count) / d, maxStagesAfter, tag };
        }),
      );
    }),
  );
  return { layers, submeshDevices, totalDevices, microbatches, options };
}

type Solved = Extract<StageDpResult, { stepSec: number }>;

function solved(result: StageDpResult): Solved {
  if (result.status !== 'optimal' && result.status !== 'feasible')
    throw new Error(`no solution: ${result.status}`);
  return result;
}

/** T of the returned stages, recomputed from the problem, or null if they are not a valid solution. */
function recompute(problem: StageDpProblem, result: StageDpResult): number | null {
  if (result.status !== 'optimal' && result.status !== 'feasible') return null;
  const { stages } = result;
  let devices = 0;
  let sum = 0;
  let max = 0;
  for (const [i, s] of stages.entries()) {
    const option = problem.options[s.first]![s.last - s.first]![s.submesh]![s.option]!;
    if (s.first !== (i === 0 ? 0 : stages[i - 1]!.last + 1)) return null;
    if (stages.length - 1 - i > option.maxStagesAfter) return null;
    devices += problem.submeshDevices[s.submesh]!;
    sum += option.latencySec;
    max = Math.max(max, option.latencySec);
  }
  if (stages.at(-1)!.last !== problem.layers - 1 || devices !== problem.totalDevices) return null;
  const first = stages[0]!;
  return (
    sum +
    (problem.microbatches - 1) * max +
    problem.options[0]![first.last]![first.submesh]![first.option]!.onceSec
  );
}

describe('solveStageDp on GPT-like models', () => {
  it('matches the exhaustive t_max loop, memory rules binding or not', () => {
    let runsSaved = 0;
    for (const memory of ['none', 'loose', 'binding'] as const) {
      for (const [blocks, devices] of [
        [16, 8],
        [24, 12],
      ] as const) {
        for (const B of [1, 3, 8, 32]) {
          const problem = gptLike(blocks, devices, B, memory);
          const fast = solveStageDp(problem);
          const slow = solveStageDp(problem, { exhaustiveTmax: true });
          expect(fast.status).toBe(slow.status);
          if (slow.status !== 'optimal' || fast.status !== 'optimal') continue;
          expect(Math.abs(fast.stepSec - slow.stepSec)).toBeLessThanOrEqual(1e-9 * slow.stepSec);
          expect(recompute(problem, fast)).toBeCloseTo(fast.stepSec, 12);
          runsSaved += slow.tMaxCandidatesTried - fast.tMaxCandidatesTried;
        }
      }
    }
    expect(runsSaved).toBeGreaterThan(500);
  });

  // Speed is measured by `npm run bench -- planning`; here only the answers at planner scale.
  it('solves 98 layers on 16 nodes and 130 layers on 48 nodes consistently', () => {
    const cases = [
      { blocks: 96, devices: 16 },
      { blocks: 128, devices: 48 },
    ];
    for (const { blocks, devices } of cases) {
      for (const memory of ['none', 'binding'] as const) {
        const problem = gptLike(blocks, devices, 64, memory);
        const result = solveStageDp(problem);
        expect(result.status).toBe('optimal');
        expect(recompute(problem, result)).toBeCloseTo((result as { stepSec: number }).stepSec, 12);
      }
    }
  });
});

describe('solveStageDp control', () => {
  const problem = gptLike(8, 4, 8, 'binding');

  it('throws AbortError when the signal is already aborted', () => {
    const controller = new AbortController();
    controller.abort();
    expect(() => solveStageDp(problem, { signal: controller.signal })).toThrow(SolveAbortedError);
  });

  it('returns timeout, not a guess, when the deadline passed before any solution', () => {
    const result = solveStageDp(problem, { deadlineMs: performance.now() - 1 });
    expect(result.status).toBe('timeout');
    expect(result.tMaxCandidatesTried).toBe(0);
  });

  it('stops between runs once the deadline passes and keeps the best solution so far', () => {
    // The clock jumps far ahead after the first DP run has read it a few times.
    let reads = 0;
    const now = vi.spyOn(performance, 'now').mockImplementation(() => (reads++ < 4 ? 0 : 1e12));
    try {
      const cut = solveStageDp(gptLike(32, 8, 64, 'binding'), { deadlineMs: 1 });
      now.mockRestore();
      const full = solveStageDp(gptLike(32, 8, 64, 'binding'));
      // Stopped part-way: a valid cut from the runs made (its T recomputed from the problem), no
      // better than the optimum, after fewer t_max candidates than the whole search tries.
      expect(cut.status).toBe('feasible');
      expect(full.status).toBe('optimal');
      const { stepSec } = solved(cut);
      expect(recompute(gptLike(32, 8, 64, 'binding'), cut)).toBeCloseTo(stepSec, 9);
      expect(stepSec).toBeGreaterThanOrEqual(solved(full).stepSec * (1 - 1e-12));
      expect(cut.tMaxCandidatesTried).toBeGreaterThanOrEqual(1);
      expect(cut.tMaxCandidatesTried).toBeLessThan(full.tMaxCandidatesTried);
    } finally {
      now.mockRestore();
    }
  });

  it('names the bad field of an invalid problem', () => {
    const bad = structuredClone(problem) as { options: { latencySec: number }[][][][] } & StageDpProblem;
    bad.options[1]![2]![0]![0]!.latencySec = Number.NaN;
    expect(() => solveStageDp(bad)).toThrow(InvalidProblemError);
    try {
      solveStageDp(bad);
    } catch (error) {
      expect((error as InvalidProblemError).path).toBe('options[1][2][0][0].latencySec');
    }
  });
});
