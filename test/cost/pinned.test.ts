/**
 * A pinned layout (a framework's, e.g. Megatron's) is accepted exactly when the search would have
 * offered it: every enumerated strategy pins to itself, and one the enumeration refuses pins to none.
 */
import { describe, expect, it } from 'vitest';
import { buildIntraOpModel } from '../../src/cost/intra-op.ts';
import { PARAM_STATE_BYTES } from '../../src/cost/memory.ts';
import type { OpStrategy } from '../../src/cost/strategy.ts';
import { matmulGraph, setup } from './helpers.ts';

const s = setup(
  matmulGraph({ b: 8, s: 256, h: 1024, f: 4096 }),
  { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 8 },
  [2, 4],
);
const options = { gpu: s.cluster.gpu, paramStateBytesPerParam: PARAM_STATE_BYTES };
const offered = (pin?: OpStrategy): OpStrategy[] =>
  buildIntraOpModel(s.graph, s.mesh, {
    ...options,
    ...(pin ? { pin: () => pin } : {}),
  }).groups[0]!.strategies.map((g) => g.leader);

describe('pinned strategies', () => {
  const all = offered();

  it('offers reduce-scatter variants for a matmul that reduces its own output', () => {
    expect(all.some((strategy) => strategy.scatter !== undefined)).toBe(true);
  });

  it('accepts each enumerated strategy, alone', () => {
    for (const strategy of all) expect(offered(strategy)).toEqual([strategy]);
  });

  it('refuses scatters the enumeration never offers', () => {
    // Contracted h split over both axes, scattered onto the same output letter twice.
    const twice: OpStrategy = { split: ['h', 'h'], scatter: ['f', 'f'] };
    // Scattering onto a letter the op already splits.
    const ontoSplit: OpStrategy = { split: ['h', 'f'], scatter: ['f', null] };
    for (const refused of [twice, ontoSplit]) {
      expect(all).not.toContainEqual(refused);
      expect(offered(refused)).toEqual([]);
    }
  });
});
