import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type FrontierAxes,
  FrontierField,
  frontierFields,
  nonDominated,
  ROW_DIRECTIONS,
  type Sweep,
  type SweepRow,
} from '../../src/schema/index.ts';
import { defaultFrontierAxes, sweepFrontier } from '../../src/sweep/frontier.ts';
import { sweepOf } from '../../src/sweep/rows.ts';
import { emptyRow } from '../http/memory-queue.ts';

const FIELDS = FrontierField.options;

/** Few distinct values, so ties are common; null a quarter of the time (unfinished, unpriced). */
const value = fc.oneof(
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 4 }) },
);

const rowArb = (i: number) =>
  fc.record(Object.fromEntries(FIELDS.map((f) => [f, value]))).map(
    (values): SweepRow => ({
      ...emptyRow(`job-${i}`, { 'cluster.nodes': i }),
      status: 'succeeded',
      planStatus: 'optimal',
      ...(values as Record<FrontierField, number | null>),
    }),
  );

const rowsArb = fc
  .integer({ min: 0, max: 30 })
  .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => rowArb(i))));

const axesArb: fc.Arbitrary<FrontierAxes> = fc
  .shuffledSubarray([...FIELDS], { minLength: 2, maxLength: 3 })
  .map(([x, y, z]) => (z === undefined ? { x: x!, y: y! } : { x: x!, y: y!, z }));

/** The oracle: compare every pair, straight from the definition of dominance with directions. */
function bruteForce(rows: readonly SweepRow[], fields: readonly FrontierField[]): Set<string> {
  const known = rows.filter((r) => fields.every((f) => r[f] !== null));
  const better = (a: SweepRow, b: SweepRow, f: FrontierField) =>
    ROW_DIRECTIONS[f] === 'min' ? a[f]! < b[f]! : a[f]! > b[f]!;
  const noWorse = (a: SweepRow, b: SweepRow, f: FrontierField) => a[f] === b[f] || better(a, b, f);
  const beats = (a: SweepRow, b: SweepRow) =>
    fields.every((f) => noWorse(a, b, f)) && fields.some((f) => better(a, b, f));
  return new Set(known.filter((b) => !known.some((a) => beats(a, b))).map((r) => r.jobId));
}

describe('sweepFrontier', () => {
  it('keeps exactly the rows a brute-force Pareto filter keeps, sorted by x best first', () => {
    fc.assert(
      fc.property(rowsArb, axesArb, (rows, axes) => {
        const sweep: Sweep = sweepOf('s', rows);
        const frontier = sweepFrontier(sweep, axes);
        const fields = frontierFields(axes);
        expect(new Set(frontier.rows.map((r) => r.jobId))).toEqual(bruteForce(rows, fields));
        expect(frontier.rows).toHaveLength(new Set(frontier.rows.map((r) => r.jobId)).size);
        expect(frontier.compared).toBe(rows.filter((r) => fields.every((f) => r[f] !== null)).length);
        expect(frontier.axes).toEqual(fields.map((field) => ({ field, direction: ROW_DIRECTIONS[field] })));
        const sign = ROW_DIRECTIONS[axes.x] === 'min' ? 1 : -1;
        for (let i = 1; i < frontier.rows.length; i++) {
          expect(sign * (frontier.rows[i]![axes.x]! - frontier.rows[i - 1]![axes.x]!)).toBeGreaterThanOrEqual(
            0,
          );
        }
        expect(frontier.points).toBe(rows.length);
      }),
      { numRuns: 300 },
    );
  });

  it('keeps rows that tie on every axis: neither beats the other', () => {
    const rows = ['a', 'b'].map((id) => ({ ...emptyRow(id, {}), gpus: 8, stepTimeSec: 2 }));
    const frontier = sweepFrontier(sweepOf('s', rows), { x: 'gpus', y: 'stepTimeSec' });
    expect(frontier.rows.map((r) => r.jobId)).toEqual(['a', 'b']);
  });

  it('maximises throughput: more tokens per second on fewer GPUs wins', () => {
    const rows = [
      { ...emptyRow('slow', {}), gpus: 64, tokensPerSec: 1e5 },
      { ...emptyRow('fast', {}), gpus: 64, tokensPerSec: 2e5 },
      { ...emptyRow('big', {}), gpus: 128, tokensPerSec: 3e5 },
    ];
    const frontier = sweepFrontier(sweepOf('s', rows), { x: 'tokensPerSec', y: 'gpus' });
    expect(frontier.rows.map((r) => r.jobId)).toEqual(['big', 'fast']);
  });
});

describe('nonDominated', () => {
  it('equals the pairwise definition on random vectors, in the given order', () => {
    const vectors = fc.array(fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 3, maxLength: 3 }), {
      maxLength: 40,
    });
    fc.assert(
      fc.property(vectors, (items) => {
        const dominated = (b: number[]) =>
          items.some((a) => a.every((v, i) => v <= b[i]!) && a.some((v, i) => v < b[i]!));
        expect(nonDominated(items, (v) => v)).toEqual(items.filter((b) => !dominated(b)));
      }),
      { numRuns: 300 },
    );
  });
});

describe('defaultFrontierAxes', () => {
  it('cost against days when priced and counted, else GPUs against step time', () => {
    const priced = [1, 2].map((n) => ({
      ...emptyRow(`p${n}`, {}),
      costUsd: n,
      trainingDays: 3 - n,
      gpus: 8,
    }));
    expect(defaultFrontierAxes(priced)).toEqual({ x: 'costUsd', y: 'trainingDays' });
    const plain = [8, 16].map((g) => ({ ...emptyRow(`g${g}`, {}), gpus: g, stepTimeSec: 1 }));
    expect(defaultFrontierAxes(plain)).toEqual({ x: 'gpus', y: 'stepTimeSec' });
    const oneSize = [1, 2].map((n) => ({ ...emptyRow(`m${n}`, {}), gpus: 8, stepTimeSec: n }));
    expect(defaultFrontierAxes(oneSize)).toEqual({ x: 'peakMemoryBytes', y: 'stepTimeSec' });
  });
});
