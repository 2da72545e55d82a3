/**
 * GEMM time from tiles and waves (DESIGN.md §4.1), against hand-computed cases on A100: 108 SMs,
 * 128×256 tiles, 312 TFLOP/s bf16, 2,039 GB/s.
 */
import { describe, expect, it } from 'vitest';
import { findGpu } from '../../src/cluster/catalog.ts';
import { forwardGemm, type GemmShape, gemmLetters, gemmSec, gradientGemm } from '../../src/cost/gemm.ts';
import { KERNEL_LAUNCH_SEC } from '../../src/cost/kernel-rates.ts';
import { costContext, costOfOp } from '../../src/cost/op-cost.ts';
import { parseGraph } from '../../src/graph/index.ts';
import { matmulGraph, setup } from './helpers.ts';

const a100 = findGpu('A100-80GB')!.spec;
const PEAK = 312e12;
const perSmFlopsPerSec = (PEAK * a100.efficiency.matmul) / 108;
const tileFlops = (k: number) => 2 * 128 * 256 * k;
const bf16 = { operands: 2, result: 2 };
const sec = (shape: GemmShape) => gemmSec(shape, bf16, PEAK, a100);

describe('GEMM tiles and waves', () => {
  it('one wave of exactly 108 tiles takes one tile time; one tile more takes a second wave', () => {
    const k = 4096;
    const oneWave = sec({ batch: 1, m: 108 * 128, n: 256, k });
    const twoWaves = sec({ batch: 1, m: 109 * 128, n: 256, k });
    expect(oneWave).toBeCloseTo(tileFlops(k) / perSmFlopsPerSec + KERNEL_LAUNCH_SEC, 12);
    expect(twoWaves).toBeCloseTo((2 * tileFlops(k)) / perSmFlopsPerSec + KERNEL_LAUNCH_SEC, 12);
    expect((twoWaves - KERNEL_LAUNCH_SEC) / (oneWave - KERNEL_LAUNCH_SEC)).toBeCloseTo(2, 9);
  });

  it('a ragged M computes the whole last tile', () => {
    // M = 100·128 + 1 rows still need 101 tiles: one wave, as a full 101-tile GEMM.
    const ragged = sec({ batch: 1, m: 100 * 128 + 1, n: 256, k: 2048 });
    expect(ragged).toBeCloseTo(tileFlops(2048) / perSmFlopsPerSec + KERNEL_LAUNCH_SEC, 12);
  });

  it('a large full-wave GEMM runs at efficiency.matmul of the peak', () => {
    // 108·4 tiles of 128 × 256, K = 8192: four full waves, no edge.
    const shape = { batch: 1, m: 108 * 128, n: 4 * 256, k: 8192 };
    const ideal = (2 * shape.m * shape.n * shape.k) / (PEAK * a100.efficiency.matmul);
    expect(sec(shape)).toBeCloseTo(ideal + KERNEL_LAUNCH_SEC, 12);
  });

  it('an M = 1 GEMM is bound by streaming its weight from HBM', () => {
    const k = 12288;
    const n = 12288;
    const bytes = (k + k * n + n) * 2;
    expect(sec({ batch: 1, m: 1, n, k })).toBeCloseTo(
      bytes / (2039e9 * a100.efficiency.memory) + KERNEL_LAUNCH_SEC,
      12,
    );
  });

  it('batched GEMMs add their tiles to the same waves', () => {
    // 12 batches of 3 · 3 tiles each: 108 tiles, one wave. Each batch reads its own operands: 256 FLOP
    // per byte, above A100's ridge at the calibrated efficiencies (≈ 168 FLOP per byte), so
    // the wave's compute, not HBM, sets the time.
    const batched = sec({ batch: 12, m: 384, n: 768, k: 4096 });
    expect(batched).toBeCloseTo(tileFlops(4096) / perSmFlopsPerSec + KERNEL_LAUNCH_SEC, 12);
  });

  it('never gets faster as M, N or K grow', () => {
    const sizes = [1, 7, 64, 100, 128, 129, 1000, 4096, 13824, 13952];
    for (const m of sizes)
      for (const n of sizes) {
        for (const k of [16, 64, 1024, 8192]) {
          const base = sec({ batch: 1, m, n, k });
          expect(sec({ batch: 1, m: m + 1, n, k })).toBeGreaterThanOrEqual(base);
          expect(sec({ batch: 1, m, n: n + 1, k })).toBeGreaterThanOrEqual(base);
          expect(sec({ batch: 1, m, n, k: 2 * k })).toBeGreaterThanOrEqual(base);
        }
      }
  });

  it('prices a GPU without SM count or tile at the efficiency-scaled peak', () => {
    const { gemmTile: _tile, ...plain } = a100;
    const shape = { batch: 1, m: 109 * 128, n: 256, k: 4096 };
    const ideal = (2 * shape.m * shape.n * shape.k) / (PEAK * a100.efficiency.matmul);
    expect(gemmSec(shape, bf16, PEAK, plain)).toBeCloseTo(ideal + KERNEL_LAUNCH_SEC, 12);
  });
});

describe('einsums as GEMMs', () => {
  it('maps eager attention scores to a batched GEMM over batch and heads', () => {
    const graph = parseGraph({
      tensors: [
        { name: 'q', shape: [2, 128, 4, 64] },
        { name: 'k', shape: [2, 128, 4, 64] },
        { name: 'scores', shape: [2, 4, 128, 128] },
      ],
      ops: [{ name: 'qk', einsum: 'bsnd,btnd->bnst', inputs: ['q', 'k'], output: 'scores', kind: 'matmul' }],
    });
    const op = graph.ops[0]!;
    expect(gemmLetters(op)).toEqual({ batch: ['b', 'n'], m: ['s'], n: ['t'], k: ['d'] });
    // Heads split 4 ways on axis 1: each device runs 2·1 products of 128×128 by depth 64.
    expect(forwardGemm(op, gemmLetters(op)!, [null, 'n'], [1, 4])).toEqual({
      batch: 2,
      m: 128,
      n: 128,
      k: 64,
    });
  });

  it('is no GEMM when the FLOPs are given apart from the einsum', () => {
    const graph = parseGraph({
      tensors: [
        { name: 'ids', shape: [2, 16], dtype: 'int32' },
        { name: 'table', shape: [1000, 64], param: true },
        { name: 'x', shape: [2, 16, 64] },
      ],
      ops: [
        {
          name: 'lookup',
          einsum: 'bs,vh->bsh',
          inputs: ['ids', 'table'],
          output: 'x',
          kind: 'embedding',
          flops: 2 * 16 * 64,
        },
      ],
    });
    expect(gemmLetters(graph.ops[0]!)).toBeNull();
  });

  it('dgrad is M×K contracting N, wgrad K×N contracting M', () => {
    const forward = { batch: 1, m: 2048, n: 4096, k: 1024 };
    expect(gradientGemm(forward, 0)).toEqual({ batch: 1, m: 2048, n: 1024, k: 4096 });
    expect(gradientGemm(forward, 1)).toEqual({ batch: 1, m: 1024, n: 4096, k: 2048 });
  });

  it('prices a linear layer on one A100: forward GEMM, and only the weight gradient backward', () => {
    const s = setup(
      matmulGraph({ b: 8, s: 256, h: 1024, f: 4096 }),
      { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 1 },
      [1, 1],
    );
    const ctx = costContext(s.graph, s.mesh, s.cluster.gpu, 'none');
    const cost = costOfOp(s.graph.ops[0]!, { split: [null, null] }, false, ctx);
    // Forward 2048 × 4096 × 1024: 16 · 16 = 256 tiles, 3 waves of 108.
    expect(cost.forwardSec).toBeCloseTo((3 * tileFlops(1024)) / perSmFlopsPerSec + KERNEL_LAUNCH_SEC, 12);
    // x is a graph input (no gradient); w's gradient 1024 × 4096 × 2048: 8 · 16 = 128 tiles, 2 waves.
    expect(cost.backwardSec).toBeCloseTo((2 * tileFlops(2048)) / perSmFlopsPerSec + KERNEL_LAUNCH_SEC, 12);
  });
});
