import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inFlightMicrobatches } from '../../src/cost/pipeline.ts';
import type { ScheduleKind } from '../../src/schema/index.ts';
import { type ScheduleBar, simulateSchedule } from '../../src/view/schedule-sim.ts';

const uniform = (stages: number, forwardSec: number, backwardSec: number) =>
  Array.from({ length: stages }, () => ({ forwardSec, backwardSec }));

const makespan = (bars: readonly ScheduleBar[]) => Math.max(...bars.map((b) => b.endSec));

/** Walks a stage's passes in time order, counting forwards whose backward has not run: the peak. */
function peakHeld(bars: readonly ScheduleBar[], stage: number): number {
  const mine = bars.filter((b) => b.stage === stage).sort((a, b) => a.startSec - b.startSec);
  let held = 0;
  let peak = 0;
  for (const bar of mine) {
    held += bar.pass === 'forward' ? 1 : -1;
    peak = Math.max(peak, held);
  }
  return peak;
}

/** Checks the schedule against the rules of pipelining, independently of how it was built. */
function expectValidSchedule(
  bars: readonly ScheduleBar[],
  stages: number,
  microbatches: number,
  chunks: number,
) {
  expect(bars).toHaveLength(stages * microbatches * 2 * chunks);
  const key = (s: number, c: number, m: number, p: string) => `${s}/${c}/${m}/${p}`;
  const byKey = new Map(bars.map((b) => [key(b.stage, b.chunk, b.microbatch, b.pass), b]));
  expect(byKey.size).toBe(bars.length);
  const eps = 1e-12;
  for (const bar of bars) {
    const virtual = bar.chunk * stages + bar.stage;
    const at = (v: number, pass: string) =>
      byKey.get(key(v % stages, Math.floor(v / stages), bar.microbatch, pass))!;
    if (bar.pass === 'forward' && virtual > 0) {
      expect(bar.startSec).toBeGreaterThanOrEqual(at(virtual - 1, 'forward').endSec - eps);
    }
    if (bar.pass === 'backward') {
      expect(bar.startSec).toBeGreaterThanOrEqual(at(virtual, 'forward').endSec - eps);
      if (virtual < stages * chunks - 1) {
        expect(bar.startSec).toBeGreaterThanOrEqual(at(virtual + 1, 'backward').endSec - eps);
      }
    }
  }
  for (let s = 0; s < stages; s++) {
    const mine = bars.filter((b) => b.stage === s).sort((a, b) => a.startSec - b.startSec);
    for (let i = 1; i < mine.length; i++)
      expect(mine[i]!.startSec).toBeGreaterThanOrEqual(mine[i - 1]!.endSec - eps);
  }
}

describe('simulateSchedule', () => {
  it("matches the closed form (B + (p − 1)/v)·t on balanced stages (SC'21 §2.2)", () => {
    for (const kind of ['1f1b', 'gpipe', 'interleaved'] as const) {
      for (let stages = 1; stages <= 6; stages++) {
        for (const groups of [1, 2, 3]) {
          const chunks = kind === 'interleaved' ? 3 : 1;
          const microbatches = groups * stages;
          const bars = simulateSchedule({
            kind,
            stages: uniform(stages, 1, 2),
            microbatches,
            virtualStages: chunks,
          });
          expect(makespan(bars)).toBeCloseTo(3 * microbatches + (3 * (stages - 1)) / chunks, 9);
        }
      }
    }
  });

  it('obeys the pipeline dependencies for any stage times, schedule and microbatch count', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<ScheduleKind>('1f1b', 'gpipe', 'interleaved'),
        fc.array(
          fc.record({
            forwardSec: fc.double({ min: 0.1, max: 5, noNaN: true }),
            backwardSec: fc.double({ min: 0.1, max: 9, noNaN: true }),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        fc.integer({ min: 1, max: 13 }),
        fc.integer({ min: 1, max: 4 }),
        (kind, stages, microbatches, v) => {
          const chunks = kind === 'interleaved' ? v : 1;
          const bars = simulateSchedule({ kind, stages, microbatches, virtualStages: chunks });
          expectValidSchedule(bars, stages.length, microbatches, chunks);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('holds as many microbatches in flight per stage as the planner charges memory for', () => {
    for (const kind of ['1f1b', 'gpipe'] as const) {
      for (let stages = 1; stages <= 5; stages++) {
        for (const microbatches of [1, 3, 8]) {
          const bars = simulateSchedule({
            kind,
            stages: uniform(stages, 1, 2),
            microbatches,
            virtualStages: 1,
          });
          for (let s = 0; s < stages; s++) {
            expect(peakHeld(bars, s), `${kind} stage ${s}/${stages}, B=${microbatches}`).toBe(
              inFlightMicrobatches(kind, s, stages, microbatches, 1),
            );
          }
        }
      }
    }
  });

  it('under interleaving holds, per stage, the chunks the planner charges memory for: 1/v of a microbatch each', () => {
    for (let stages = 2; stages <= 5; stages++) {
      for (const v of [2, 3, 5]) {
        for (const groups of [1, 2, 4]) {
          const microbatches = groups * stages;
          const bars = simulateSchedule({
            kind: 'interleaved',
            stages: uniform(stages, 1, 2),
            microbatches,
            virtualStages: v,
          });
          for (let s = 0; s < stages; s++) {
            expect(peakHeld(bars, s) / v, `stage ${s}/${stages}, v=${v}, B=${microbatches}`).toBeCloseTo(
              inFlightMicrobatches('interleaved', s, stages, microbatches, v),
              12,
            );
          }
        }
      }
    }
  });
});
