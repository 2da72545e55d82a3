import { describe, expect, it } from 'vitest';
import { createRng } from '../../solvers/random.ts';
import {
  type StageDpProblem,
  type StageDpResult,
  type StageOption,
  solveStageDp,
} from '../../solvers/stage-dp.ts';
import { type FeasibilityProblem, fewestStages } from '../../solvers/stage-dp-feasible.ts';

type Stage = { first: number; last: number; submesh: number; option: number };
type Solved = Extract<StageDpResult, { stepSec: number }>;

function solved(result: StageDpResult): Solved {
  if (result.status !== 'optimal' && result.status !== 'feasible')
    throw new Error(`no solution: ${result.status}`);
  return result;
}

/** The objective and validity rules, written out from the brief and not from the solver. */
function evaluateStages(problem: StageDpProblem, stages: readonly Stage[]): number | null {
  const S = stages.length;
  if (problem.maxStages !== undefined && S > problem.maxStages) return null;
  let devices = 0;
  let sum = 0;
  let max = 0;
  let expectedFirst = 0;
  for (const [i, s] of stages.entries()) {
    if (s.first !== expectedFirst || s.last < s.first) return null;
    expectedFirst = s.last + 1;
    const option = problem.options[s.first]?.[s.last - s.first]?.[s.submesh]?.[s.option];
    if (option === undefined || !Number.isFinite(option.latencySec)) return null;
    if (S - 1 - i > option.maxStagesAfter) return null;
    devices += problem.submeshDevices[s.submesh]!;
    sum += option.latencySec;
    max = Math.max(max, option.latencySec);
  }
  if (expectedFirst !== problem.layers || devices !== problem.totalDevices) return null;
  const first = stages[0]!;
  const once = problem.options[0]![first.last]![first.submesh]![first.option]!.onceSec;
  return sum + (problem.microbatches - 1) * max + once;
}

/** Visits every cut, every sub-mesh per stage, every option per stage. */
function everyCut(problem: StageDpProblem, visit: (stages: readonly Stage[]) => void): void {
  const stages: Stage[] = [];
  const extend = (first: number): void => {
    if (first === problem.layers) {
      visit(stages);
      return;
    }
    for (let last = first; last < problem.layers; last++) {
      problem.options[first]![last - first]!.forEach((cell, submesh) => {
        cell.forEach((_, option) => {
          stages.push({ first, last, submesh, option });
          extend(last + 1);
          stages.pop();
        });
      });
    }
  };
  extend(0);
}

/** The least valid objective over every cut, or null. */
function bruteForce(problem: StageDpProblem): number | null {
  let best: number | null = null;
  everyCut(problem, (stages) => {
    const t = evaluateStages(problem, stages);
    if (t !== null && (best === null || t < best)) best = t;
  });
  return best;
}

function randomProblem(seed: number, integerLatencies = false): StageDpProblem {
  const rng = createRng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rng() * xs.length)]!;
  const layers = 1 + Math.floor(rng() * 6);
  const submeshDevices = pick([
    [1, 2],
    [1, 2, 4],
    [1, 2, 4, 8],
    [2, 4, 8],
    [1, 4, 8, 16],
  ]);
  const totalDevices = pick([2, 4, 6, 8, 12, 16].filter((d) => d >= Math.min(...submeshDevices)));
  const msa = () => pick([-1, 0, 1, 2, 3, Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY]);
  const latency = () =>
    rng() < 0.03 ? Number.POSITIVE_INFINITY : integerLatencies ? 1 + Math.floor(rng() * 4) : 0.1 + rng();
  const options = Array.from({ length: layers }, (_, first) =>
    Array.from({ length: layers - first }, () =>
      submeshDevices.map(() =>
        Array.from({ length: 1 + Math.floor(rng() * 3) }, (_, tag) => ({
          latencySec: latency(),
          onceSec: rng() < 0.5 ? 0 : rng() * 2,
          maxStagesAfter: msa(),
          tag,
        })),
      ),
    ),
  );
  const maxStages = rng() < 0.2 ? 1 + Math.floor(rng() * 3) : undefined;
  return {
    layers,
    submeshDevices,
    totalDevices,
    microbatches: 1 + Math.floor(rng() * 16),
    options,
    maxStages,
  };
}

/** Checks a result against the brute force and re-evaluates its stages with the brief's formula. */
function expectMatchesOracle(problem: StageDpProblem, result: StageDpResult): void {
  const oracle = bruteForce(problem);
  if (oracle === null) {
    expect(result.status).toBe('infeasible');
    return;
  }
  expect(result.status).toBe('optimal');
  const { stepSec, stages, maxLatencySec } = solved(result);
  expect(Math.abs(stepSec - oracle)).toBeLessThanOrEqual(1e-9 * oracle);
  const reevaluated = evaluateStages(problem, stages);
  expect(reevaluated).not.toBeNull();
  expect(Math.abs(reevaluated! - stepSec)).toBeLessThanOrEqual(1e-12 * stepSec);
  for (const s of stages) {
    const option = problem.options[s.first]![s.last - s.first]![s.submesh]![s.option]!;
    expect(s.tag).toBe(option.tag);
    expect(s.latencySec).toBe(option.latencySec);
  }
  expect(maxLatencySec).toBe(Math.max(...stages.map((s) => s.latencySec)));
}

/** The fewest stages of any valid cut, by enumeration, or null when no cut is valid. */
function bruteForceFewestStages(problem: StageDpProblem): number | null {
  let fewest: number | null = null;
  everyCut(problem, (stages) => {
    if (evaluateStages(problem, stages) !== null && (fewest === null || stages.length < fewest))
      fewest = stages.length;
  });
  return fewest;
}

/** The feasibility question as the planner asks it: each cell's most accommodating runnable option. */
function feasibilityOf(problem: StageDpProblem): FeasibilityProblem {
  const L = problem.layers;
  const S = problem.submeshDevices.length;
  const cellAfter = new Float64Array(L * L * S).fill(-1);
  for (const [first, row] of problem.options.entries()) {
    for (const [length, cells] of row.entries()) {
      for (const [s, cell] of cells.entries()) {
        for (const o of cell) {
          if (!Number.isFinite(o.latencySec)) continue;
          const at = (first * L + first + length) * S + s;
          cellAfter[at] = Math.max(cellAfter[at]!, o.maxStagesAfter);
        }
      }
    }
  }
  return { ...problem, maxStageLayers: L, cellAfter };
}

describe('fewestStages: whether a cut fits, from memory alone', () => {
  it('is the brute force fewest stage count on 400 random instances, and Infinity exactly when the DP is infeasible', () => {
    let none = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const problem = randomProblem(seed);
      const oracle = bruteForceFewestStages(problem);
      const fewest = fewestStages(feasibilityOf(problem));
      expect(fewest).toBe(oracle ?? Number.POSITIVE_INFINITY);
      expect(solveStageDp(problem).status === 'infeasible').toBe(oracle === null);
      if (oracle === null) none++;
    }
    expect(none).toBeGreaterThan(20);
    expect(none).toBeLessThan(300);
  });

  it('cuts no longer stages than maxStageLayers allows', () => {
    // Two layers on one 2-device mesh: only a single stage of both layers uses both devices.
    const options = [
      [
        [[{ latencySec: 1, onceSec: 0, maxStagesAfter: 5, tag: 0 }]],
        [[{ latencySec: 2, onceSec: 0, maxStagesAfter: 5, tag: 0 }]],
      ],
      [[[{ latencySec: 1, onceSec: 0, maxStagesAfter: 5, tag: 0 }]]],
    ];
    const problem: StageDpProblem = {
      layers: 2,
      submeshDevices: [2],
      totalDevices: 2,
      microbatches: 4,
      options,
    };
    expect(fewestStages({ ...feasibilityOf(problem), maxStageLayers: 2 })).toBe(1);
    expect(fewestStages({ ...feasibilityOf(problem), maxStageLayers: 1 })).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('solveStageDp against brute force', () => {
  it('agrees on 400 random small instances (feasible and infeasible)', () => {
    let infeasible = 0;
    for (let seed = 1; seed <= 400; seed++) {
      const problem = randomProblem(seed);
      const result = solveStageDp(problem);
      if (result.status === 'infeasible') infeasible++;
      expectMatchesOracle(problem, result);
    }
    // The generator must exercise both outcomes.
    expect(infeasible).toBeGreaterThan(20);
    expect(infeasible).toBeLessThan(300);
  });

  it('agrees with many tied (integer) latencies', () => {
    for (let seed = 1000; seed < 1200; seed++) {
      const problem = randomProblem(seed, true);
      expectMatchesOracle(problem, solveStageDp(problem));
    }
  });

  it('agrees where memory binds at every depth (8 layers, up to 8 stages)', () => {
    for (let seed = 500; seed < 540; seed++) {
      const rng = createRng(seed);
      const layers = 8;
      const submeshDevices = [1, 2];
      const options = Array.from({ length: layers }, (_, first) =>
        Array.from({ length: layers - first }, (_, j) =>
          submeshDevices.map((d) =>
            Array.from({ length: rng() < 0.3 ? 2 : 1 }, (_, tag) => ({
              latencySec: (j + 1) / d + rng() * 0.3,
              onceSec: rng() * 0.1,
              maxStagesAfter: Math.floor(rng() * 9) - 1,
              tag,
            })),
          ),
        ),
      );
      const problem = { layers, submeshDevices, totalDevices: 8, microbatches: 1 + (seed % 12), options };
      expectMatchesOracle(problem, solveStageDp(problem));
    }
  });

  it('the exhaustive t_max loop agrees too', () => {
    for (let seed = 2000; seed < 2150; seed++) {
      const problem = randomProblem(seed);
      expectMatchesOracle(problem, solveStageDp(problem, { exhaustiveTmax: true }));
    }
  });
});

/** options[first][len-1][submesh] = [one option] from a latency function of (layer count, devices). */
function uniformProblem(
  layers: number,
  submeshDevices: readonly number[],
  totalDevices: number,
  microbatches: number,
  latency: (count: number, devices: number) => number,
  extra: Partial<StageOption> = {},
): StageDpProblem {
  const options = Array.from({ length: layers }, (_, first) =>
    Array.from({ length: layers - first }, (_, j) =>
      submeshDevices.map((d) => [
        {
          latencySec: latency(j + 1, d),
          onceSec: 0,
          maxStagesAfter: Number.POSITIVE_INFINITY,
          tag: d,
          ...extra,
        },
      ]),
    ),
  );
  return { layers, submeshDevices, totalDevices, microbatches, options };
}

function expectStep(result: StageDpResult, stepSec: number): void {
  expect(result.status).toBe('optimal');
  expect(solved(result).stepSec).toBeCloseTo(stepSec, 12);
}

describe('solveStageDp closed forms', () => {
  it('one single-device sub-mesh: S = D stages, the even split, T = L·c + (B − 1)·⌈L/S⌉·c', () => {
    const c = 0.01;
    for (const [L, D, B] of [
      [24, 4, 8],
      [25, 4, 8],
      [30, 7, 3],
      [12, 12, 16],
    ] as const) {
      const result = solved(solveStageDp(uniformProblem(L, [1], D, B, (n) => n * c)));
      expect(result.stages).toHaveLength(D);
      expect(result.stepSec).toBeCloseTo(L * c + (B - 1) * Math.ceil(L / D) * c, 12);
      expect(result.maxLatencySec).toBeCloseTo(Math.ceil(L / D) * c, 12);
    }
  });

  it('perfect scaling: one stage on every device beats any pipeline, T = B·L·c/D', () => {
    const c = 0.02;
    const result = solved(solveStageDp(uniformProblem(16, [1, 2, 4, 8], 8, 4, (n, d) => (n * c) / d)));
    expect(result.stages).toEqual([expect.objectContaining({ first: 0, last: 15, submesh: 3 })]);
    expect(result.stepSec).toBeCloseTo((4 * 16 * c) / 8, 12);
  });

  it('memory: L single-device stages need stage 0 to hold L − 1 microbatches more', () => {
    const tight = uniformProblem(4, [1], 4, 4, (n) => n, { maxStagesAfter: 2 });
    expect(solveStageDp(tight)).toMatchObject({ status: 'infeasible' });
    const enough = uniformProblem(4, [1], 4, 4, (n) => n, { maxStagesAfter: 3 });
    expectStep(solveStageDp(enough), 4 + 3);
  });

  it('maxStages caps the pipeline depth', () => {
    // Two devices as 1 + 1 (two stages) or as one 2-device stage that is slower than the pipeline.
    const problem = { ...uniformProblem(8, [1, 2], 2, 8, (n, d) => (d === 2 ? n * 0.8 : n)), maxStages: 1 };
    expectStep(solveStageDp(problem), 8 * 8 * 0.8);
    expectStep(solveStageDp({ ...problem, maxStages: 2 }), 8 + 7 * 4);
  });

  it("only stage 0's once-cost is exposed", () => {
    const base = uniformProblem(4, [1], 2, 2, (n) => n);
    const withOnce = (first: number, onceSec: number) => ({
      ...base,
      options: base.options.map((byLength, f) =>
        byLength.map((bySubmesh) =>
          bySubmesh.map((cell) => cell.map((o) => (f === first ? { ...o, onceSec } : o))),
        ),
      ),
    });
    // Options starting at layer 2 are never stage 0: the even split 2 + 2 stays, T = 4 + 1·2 = 6.
    expectStep(solveStageDp(withOnce(2, 5)), 6);
    // Every possible stage 0 pays 5: still 2 + 2, T = 6 + 5.
    expectStep(solveStageDp(withOnce(0, 5)), 11);
  });

  it('is infeasible when the sub-meshes cannot add up to the devices', () => {
    expect(solveStageDp(uniformProblem(3, [4, 8], 2, 4, (n) => n))).toMatchObject({ status: 'infeasible' });
    expect(solveStageDp(uniformProblem(3, [2], 3, 4, (n) => n))).toMatchObject({ status: 'infeasible' });
    // Three single-device stages at most, four devices.
    expect(solveStageDp(uniformProblem(3, [1], 4, 4, (n) => n))).toMatchObject({ status: 'infeasible' });
  });
});

/** Mid-size instances the brute force cannot reach: L up to 14, realistic scaling, memory rules that bind. */
function mediumProblem(seed: number): StageDpProblem {
  const rng = createRng(seed);
  const layers = 6 + Math.floor(rng() * 9);
  const submeshDevices = [1, 2, 4, 8];
  const totalDevices = [8, 12, 16][Math.floor(rng() * 3)]!;
  const layerCost = Array.from({ length: layers }, () => (rng() < 0.7 ? 1 : 0.5 + rng()));
  const options = Array.from({ length: layers }, (_, first) =>
    Array.from({ length: layers - first }, (_, j) => {
      const work = layerCost.slice(first, first + j + 1).reduce((a, b) => a + b, 0);
      return submeshDevices.map((d) =>
        [0.9, 0.75].map((efficiency, tag) => ({
          latencySec: (work / d / efficiency ** Math.log2(d)) * (tag === 0 ? 1 : 0.9),
          onceSec: rng() * 0.3,
          // Faster option, more memory: fewer microbatches in flight fit.
          maxStagesAfter: Math.max(-1, Math.floor((12 * d) / work) - 1 - tag),
          tag,
        })),
      );
    }),
  );
  return {
    layers,
    submeshDevices,
    totalDevices,
    microbatches: [1, 2, 4, 8, 32][Math.floor(rng() * 5)]!,
    options,
  };
}

describe('solveStageDp search shortcuts', () => {
  it('the branch and bound over t_max, its budgets and the pruning do not change the answer', () => {
    let savedRuns = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const problem = mediumProblem(seed);
      const fastResult = solveStageDp(problem);
      const slowResult = solveStageDp(problem, { exhaustiveTmax: true });
      expect(fastResult.status).toBe(slowResult.status);
      if (slowResult.status === 'infeasible') continue;
      const [fast, slow] = [solved(fastResult), solved(slowResult)];
      expect(Math.abs(fast.stepSec - slow.stepSec)).toBeLessThanOrEqual(1e-9 * slow.stepSec);
      expect(evaluateStages(problem, fast.stages)).toBeCloseTo(fast.stepSec, 12);
      savedRuns += slow.tMaxCandidatesTried - fast.tMaxCandidatesTried;
    }
    expect(savedRuns).toBeGreaterThan(0);
  });

  it('adding dominated options changes nothing', () => {
    for (let seed = 3000; seed < 3100; seed++) {
      const problem = randomProblem(seed);
      const worse = (o: StageOption): StageOption => ({
        latencySec: o.latencySec * 1.5,
        onceSec: o.onceSec + 1,
        maxStagesAfter: Math.max(-1, o.maxStagesAfter - 1),
        tag: 99,
      });
      const padded = {
        ...problem,
        options: problem.options.map((byLength) =>
          byLength.map((bySubmesh) => bySubmesh.map((cell) => [...cell, ...cell.map(worse)])),
        ),
      };
      const a = solveStageDp(problem);
      const b = solveStageDp(padded);
      expectMatchesOracle(padded, b);
      expect(b.status).toBe(a.status);
      if (a.status === 'infeasible') continue;
      expect(solved(b).stepSec).toBeCloseTo(solved(a).stepSec, 12);
      expect(solved(b).stages.every((s) => s.tag !== 99)).toBe(true);
    }
  });
});
