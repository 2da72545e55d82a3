/**
 * Memory-bound kernels against hand counts of the bytes each moves (DESIGN.md §4.1): bf16 tensors of
 * E = b·s·h elements (2E bytes), at 80% of A100-80GB's 2,039 GB/s, plus one launch per kernel.
 */
import { describe, expect, it } from 'vitest';
import { KERNEL_LAUNCH_SEC } from '../../src/cost/kernel-rates.ts';
import { costContext, costOfOp } from '../../src/cost/op-cost.ts';
import { ADAM_BYTES_TOUCHED_PER_PARAM, optimizerStepSec } from '../../src/cost/optimizer.ts';
import { setup } from './helpers.ts';

const [b, s, h] = [4, 512, 1024];
const E = b * s * h;
const bsh = [b, s, h];
const graph = {
  tensors: [
    { name: 'x', shape: bsh },
    { name: 'y', shape: bsh },
    { name: 'gamma', shape: [h], param: true },
    { name: 'z', shape: bsh },
    { name: 'd', shape: bsh },
    { name: 'p', shape: bsh },
    { name: 'o', shape: bsh },
  ],
  ops: [
    { name: 'act', einsum: 'bsh->bsh', inputs: ['x'], output: 'y', kind: 'elementwise' },
    {
      name: 'norm',
      einsum: 'bsh,h->bsh',
      inputs: ['y', 'gamma'],
      output: 'z',
      kind: 'norm',
      reducedDims: ['h'],
    },
    { name: 'drop', einsum: 'bsh->bsh', inputs: ['z'], output: 'd', kind: 'dropout' },
    { name: 'soft', einsum: 'bsh->bsh', inputs: ['d'], output: 'p', kind: 'softmax', reducedDims: ['h'] },
    { name: 'res', einsum: 'bsh,bsh->bsh', inputs: ['p', 'y'], output: 'o', kind: 'add' },
  ],
};
const t = setup(graph, { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 1 }, [1, 1]);
const ctx = costContext(t.graph, t.mesh, t.cluster.gpu, 'none');
const kernelSec = (bytes: number) => bytes / (2039e9 * t.cluster.gpu.efficiency.memory) + KERNEL_LAUNCH_SEC;
const cost = (name: string) =>
  costOfOp(t.graph.ops.find((o) => o.name === name)!, { split: [null, null] }, false, ctx);

describe('memory-bound kernels', () => {
  it('an activation of a graph input reads it and writes its output, and has no backward', () => {
    expect(cost('act').forwardSec).toBeCloseTo(kernelSec(2 * E + 2 * E), 12);
    expect(cost('act').backwardSec).toBe(0);
  });

  it('a norm reads x and its scale, writes y; backward reads dy and x, writes dx and dscale', () => {
    expect(cost('norm').forwardSec).toBeCloseTo(kernelSec(2 * E + 2 * h + 2 * E), 12);
    expect(cost('norm').backwardSec).toBeCloseTo(kernelSec(2 * E + 2 * E + 2 * E + 2 * h), 12);
  });

  it("eager PyTorch's RMSNorm (composite): its aten ops' passes, fp32 between them, and the fp32 upcast kept (hand count)", () => {
    const composite = {
      ...graph,
      ops: graph.ops.map((o) => (o.name === 'norm' ? { ...o, composite: true } : o)),
    };
    const u = setup(composite, { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 1 }, [1, 1]);
    const c = costContext(u.graph, u.mesh, u.cluster.gpu, 'none');
    const op = u.graph.ops.find((o) => o.name === 'norm')!;
    const eager = costOfOp(op, { split: [null, null] }, false, c);
    const streamSec = (bytes: number) => bytes / (2039e9 * t.cluster.gpu.efficiency.memory);
    // x.to(float) 2 + 4, pow 4 + 4, mean 4, (add, rsqrt: a value a row), mul 4 + 4, type_as 4 + 2,
    // times the weight 2 + 2 (and the weight): 8 kernels.
    const forward = 2 + 4 + (4 + 4) + 4 + (4 + 4) + (4 + 2) + (2 + 2);
    expect(eager.forwardSec).toBeCloseTo(streamSec(forward * E + 2 * h) + 8 * KERNEL_LAUNCH_SEC, 12);
    // dy·w 2 + 2; dw = Σ dy·r 2 + 2 + 2, then 2; type_as 2 + 4; ·rsqrt 4 + 4; its row sum 4 + 4 + 4,
    // then 4; the square's 2·x 4 + 4 and its product 4 + 4; the two gradients summed 4 + 4 + 4; cast
    // down 4 + 2: 11 kernels, and the weight read and its gradient written.
    const backward =
      2 + 2 + (2 + 2 + 2) + 2 + (2 + 4) + (4 + 4) + (4 + 4 + 4) + 4 + (4 + 4) + (4 + 4) + 12 + (4 + 2);
    expect(eager.backwardSec).toBeCloseTo(streamSec(backward * E + 4 * h) + 11 * KERNEL_LAUNCH_SEC, 12);
    // It keeps the fp32 upcast and the bf16 product before the weight, where one kernel keeps x.
    expect(eager.activationBytes - cost('norm').activationBytes).toBe(4 * E);
  });

  it('a composite op must be a norm: anything else is refused, naming the field', () => {
    const bad = { ...graph, ops: graph.ops.map((o) => (o.name === 'act' ? { ...o, composite: true } : o)) };
    expect(() => setup(bad, { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 1 }, [1, 1])).toThrow(
      /ops\[0\]\.composite/,
    );
  });

  it('dropout writes a one-byte mask forward and reads it backward', () => {
    expect(cost('drop').forwardSec).toBeCloseTo(kernelSec(2 * E + 2 * E + E), 12);
    expect(cost('drop').backwardSec).toBeCloseTo(kernelSec(2 * E + E + 2 * E), 12);
  });

  it('softmax backward reads its output and the output gradient', () => {
    expect(cost('soft').forwardSec).toBeCloseTo(kernelSec(4 * E), 12);
    expect(cost('soft').backwardSec).toBeCloseTo(kernelSec(2 * E + 2 * E + 2 * E), 12);
  });

  it('a residual add reads two, writes one; backward hands the gradient to both inputs', () => {
    expect(cost('res').forwardSec).toBeCloseTo(kernelSec(6 * E), 12);
    expect(cost('res').backwardSec).toBeCloseTo(kernelSec(2 * E + 2 * E + 2 * E), 12);
  });

  it('a split op moves its share only', () => {
    const split = setup(graph, { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 4 }, [1, 4]);
    const splitCtx = costContext(split.graph, split.mesh, split.cluster.gpu, 'none');
    const op = split.graph.ops.find((o) => o.name === 'drop')!;
    const quarter = costOfOp(op, { split: [null, 'b'] }, false, splitCtx);
    expect(quarter.forwardSec).toBeCloseTo(kernelSec((2 * E + 2 * E + E) / 4), 12);
  });

  it('cross entropy as Megatron-LM runs it unfused: 38 bytes per bf16 logit forward in 6 kernels, 14 backward in 2 (hand count)', () => {
    const v = 32000;
    const lossGraph = {
      tensors: [
        { name: 'logits', shape: [b, s, v] },
        { name: 'labels', shape: [b, s], dtype: 'int32' },
        { name: 'loss', shape: [b, s], dtype: 'fp32' },
      ],
      ops: [{ name: 'ce', einsum: 'bsv,bs->bs', inputs: ['logits', 'labels'], output: 'loss', kind: 'loss' }],
    };
    const withLoss = (devices: number, split: [string | null, string | null]) => {
      const u = setup(lossGraph, { gpu: 'A100-80GB', nodes: 1, gpusPerNode: devices }, [1, devices]);
      const c = costContext(u.graph, u.mesh, u.cluster.gpu, 'none');
      return costOfOp(u.graph.ops[0]!, { split }, false, c);
    };
    const logits = b * s * v;
    const streamSec = (bytes: number) => bytes / (2039e9 * t.cluster.gpu.efficiency.memory);
    // Upcast (2 read, 4 written), max (4), subtract (4 + 4), exp (4 + 4), sum (4), divide (4 + 4).
    const whole = withLoss(1, [null, null]);
    expect(whole.forwardSec).toBeCloseTo(streamSec(38 * logits) + 6 * KERNEL_LAUNCH_SEC, 12);
    // Scale the kept softmax in place (4 + 4), cast the gradient down (4 read, 2 written).
    expect(whole.backwardSec).toBeCloseTo(streamSec(14 * logits) + 2 * KERNEL_LAUNCH_SEC, 12);
    // Split over the vocabulary (Megatron's vocab-parallel loss), each device moves its share.
    const quarter = withLoss(4, [null, 'v']);
    expect(quarter.forwardSec).toBeCloseTo(streamSec((38 * logits) / 4) + 6 * KERNEL_LAUNCH_SEC, 12);
  });

  it('the Adam step moves 30 bytes per parameter: fp32 master, m, v, gradient in; those three and bf16 out', () => {
    expect(ADAM_BYTES_TOUCHED_PER_PARAM).toBe(4 * 4 + 3 * 4 + 2);
    expect(optimizerStepSec(1e9, t.cluster.gpu)).toBeCloseTo(kernelSec(30e9), 12);
    expect(optimizerStepSec(0, t.cluster.gpu)).toBe(0);
  });
});
