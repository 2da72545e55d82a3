/**
 * A generation without enough published runs borrows a neighbour's fit, matmul scaled by how close each
 * generation's best GEMM comes to its peak (published MAMF microbenchmarks). The oracle is the one
 * generation where both sides exist: Ampere's matmul factor fitted on its own 10 SC'21 runs.
 */
import { describe, expect, it } from 'vitest';
import {
  ampereEfficiency,
  blackwellEfficiency,
  cdna3Efficiency,
  hopperEfficiency,
  voltaEfficiency,
} from '../../src/cluster/gpus/common.ts';
import { borrowedFactors } from '../../src/planner/calibration/by-generation.ts';

describe('borrowed factors', () => {
  it("carry Hopper's fitted matmul to A100 within 2% of the factor A100's own runs fit", () => {
    const borrowed = borrowedFactors(hopperEfficiency, 'hopper', 'ampere');
    const scaledOff = Math.abs(borrowed.matmul / ampereEfficiency.matmul - 1);
    expect(scaledOff).toBeLessThan(0.02);
    // Unscaled, the borrowed factor is 9% off: the scaling is what brings it within the 2%.
    const unscaledOff = Math.abs(hopperEfficiency.matmul / ampereEfficiency.matmul - 1);
    expect(unscaledOff).toBeGreaterThan(0.05);
  });

  it('scale matmul alone; every other factor is the lender’s', () => {
    const borrowed = borrowedFactors(hopperEfficiency, 'hopper', 'blackwell');
    expect(borrowed.matmul).toBeCloseTo((hopperEfficiency.matmul * (1745 / 2250)) / (794.5 / 989), 3);
    expect({ ...borrowed, matmul: 0 }).toEqual({ ...hopperEfficiency, matmul: 0 });
  });

  it("are the catalog's Blackwell and Volta factors, which no fit of their own generation backs", () => {
    expect(blackwellEfficiency).toEqual(borrowedFactors(hopperEfficiency, 'hopper', 'blackwell'));
    expect(voltaEfficiency).toEqual(borrowedFactors(ampereEfficiency, 'ampere', 'volta'));
    // Volta's share (a cuBLAS FP16 GEMM at 101 of a V100 PCIe's 112 TFLOP/s) is above Ampere's 86.9%.
    expect(voltaEfficiency.matmul).toBeCloseTo((ampereEfficiency.matmul * (101 / 112)) / (271.2 / 312), 3);
    expect(voltaEfficiency.matmul).toBeGreaterThan(ampereEfficiency.matmul);
  });

  it('stay as lent where a generation has no published GEMM share, or lends to itself', () => {
    expect(borrowedFactors(hopperEfficiency, 'hopper', 'cdna3')).toEqual(hopperEfficiency);
    expect(borrowedFactors(cdna3Efficiency, 'cdna3', 'ampere')).toEqual(cdna3Efficiency);
    expect(borrowedFactors(hopperEfficiency, 'hopper', 'hopper')).toEqual(hopperEfficiency);
    expect(cdna3Efficiency.matmul).toBe(0.7);
  });
});
