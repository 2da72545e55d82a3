import { describe, expect, it } from 'vitest';
import { evaluateLayout } from '../../src/cost/layout-eval.ts';
import { LayerSeries } from '../../src/cost/stage.ts';
import type { OpStrategy } from '../../src/cost/strategy.ts';
import { setup } from './helpers.ts';

/*
 * A column-parallel linear layer after a norm, on one 8-GPU node: the norm runs replicated, the
 * linear splits its weight's output dim 8 ways (Megatron's ColumnParallelLinear without sequence
 * parallelism). Its input gradient comes out partial over the 8 GPUs and is all-reduced onto the
 * norm's replicated layout; Megatron-LM launches that all-reduce and computes the weight gradient
 * meanwhile, so the overlap can hide min(all-reduce, weight-gradient GEMM).
 */
const dgx = { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 8, intraNodeGBps: 300 };
// helpers.ts sets 5 µs per NVLink hop; an 8× A100 ring reaches nccl-tests' 232 GB/s bus bandwidth.
const ringAllReduce = (bytes: number, n: number) => 2 * (n - 1) * 5e-6 + (2 * bytes * (n - 1)) / n / 232e9;

function normThenLinear(dims: { b: number; s: number; h: number; f: number }) {
  const { b, s, h, f } = dims;
  return {
    name: 'norm-linear',
    tensors: [
      { name: 'x', shape: [b, s, h] },
      { name: 'xn', shape: [b, s, h] },
      { name: 'w', shape: [h, f], param: true },
      { name: 'y', shape: [b, s, f] },
    ],
    ops: [
      { name: 'norm', einsum: 'bsh->bsh', inputs: ['x'], output: 'xn', kind: 'elementwise' },
      { name: 'fc', einsum: 'bsh,hf->bsf', inputs: ['xn', 'w'], output: 'y', kind: 'matmul' },
    ],
  };
}

const STRATEGIES: readonly OpStrategy[] = [{ split: [null, null] }, { split: [null, 'f'] }];

function evaluate(dims: { b: number; s: number; h: number; f: number }) {
  const { graph, cluster, mesh } = setup(normThenLinear(dims), dgx, [1, 8]);
  const evaluated = evaluateLayout(
    graph,
    mesh,
    { gpu: cluster.gpu, recompute: 'none' },
    (op) => STRATEGIES[op]!,
  );
  if (evaluated === null) throw new Error('the pinned layout is valid on a 1×8 mesh');
  return { evaluated, mesh };
}

describe('the input gradient reduced alongside the weight-gradient GEMM (closed form)', () => {
  it('a wide layer hides the whole all-reduce of its input gradient', () => {
    const dims = { b: 4, s: 2048, h: 4096, f: 65536 };
    const { evaluated } = evaluate(dims);
    const xBytes = dims.b * dims.s * dims.h * 2;
    const fc = evaluated.ops[1]!;
    // The edge's backward is that one all-reduce, and nothing else is on the wire.
    expect(fc.reshards.map((c) => [c.kind, c.phase, c.bytes])).toEqual([['all-reduce', 'backward', xBytes]]);
    expect(evaluated.reshardSec).toBeCloseTo(ringAllReduce(xBytes, 8), 12);
    // Its weight gradient (2·b·s·h·f/8 FLOPs) takes longer than the all-reduce: all of it hides.
    expect(fc.cost.weightGradientSec).toBeGreaterThan(evaluated.reshardSec);
    expect(evaluated.inputGradientHideableSec).toBeCloseTo(ringAllReduce(xBytes, 8), 12);
  });

  it('a narrow layer hides no more than its weight-gradient GEMM', () => {
    const dims = { b: 4, s: 2048, h: 4096, f: 1024 };
    const { evaluated } = evaluate(dims);
    const fc = evaluated.ops[1]!;
    expect(fc.cost.weightGradientSec).toBeLessThan(evaluated.reshardSec);
    expect(evaluated.inputGradientHideableSec).toBe(fc.cost.weightGradientSec);
    // One of the backward's two GEMMs (input and weight gradients), each 2·b·s·h·f/8 FLOPs: no
    // faster than the A100's 312 TFLOP/s dense peak, and not the whole backward.
    const gemmFlops = (2 * dims.b * dims.s * dims.h * dims.f) / 8;
    expect(fc.cost.weightGradientSec).toBeGreaterThan(gemmFlops / 312e12);
    expect(fc.cost.weightGradientSec).toBeLessThan(fc.cost.backwardSec - gemmFlops / 312e12);
  });

  it('the stage hides it only under a runtime that overlaps it, never twice under Transformer Engine’s overlap', () => {
    const { evaluated, mesh } = evaluate({ b: 4, s: 2048, h: 4096, f: 65536 });
    const tpOverlap = 0.5;
    const layers = 3;
    const series = new LayerSeries(mesh, new Array(layers).fill(evaluated), tpOverlap);
    const hidden = (overlapInputGradientReduce: boolean, overlapTensorParallelComm: boolean) =>
      series.hiddenByOverlapSec(0, layers - 1, {
        overlapInputGradientReduce,
        overlapTensorParallelComm,
        overlapExpertParallelComm: false,
      });
    const a = evaluated.inputGradientHideableSec;
    const exposedTp = evaluated.commSec + evaluated.reshardSec;
    expect(hidden(false, false)).toBe(0);
    expect(hidden(true, false)).toBeCloseTo(layers * a, 12);
    // Transformer Engine's userbuffers overlap the same reduction with the weight gradient ("bulk"
    // overlap) and hide the tpOverlap share of the rest, whether or not the asynchronous path is on.
    const withUserbuffers = layers * (a + tpOverlap * (exposedTp - a));
    expect(hidden(false, true)).toBeCloseTo(withUserbuffers, 12);
    expect(hidden(true, true)).toBeCloseTo(withUserbuffers, 12);
  });
});
