import { describe, expect, it } from 'vitest';
import mlp from '../../examples/mlp.graph.json' with { type: 'json' };
import { PARAM_STATE_BYTES } from '../../src/cost/memory.ts';
import { costContext, costOfOp } from '../../src/cost/op-cost.ts';
import { shardGraph } from '../../src/planner/shard.ts';
import { matmulGraph, setup } from './helpers.ts';

const dgx = { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 8, intraNodeGBps: 300 };
// helpers.ts sets 5 µs per NVLink hop; an 8× A100 NVLink ring reaches nccl-tests' 232 GB/s bus
// bandwidth (GTC25 S72583), not the 300 GB/s link. NCCL's ring all-reduce: 2(n − 1) steps, each
// device moving 2(n − 1)/n of the buffer at bus bandwidth.
const alpha = 5e-6;
const busBytesPerSec = 232e9;
const ringAllReduce = (bytes: number, n: number) =>
  2 * (n - 1) * alpha + (2 * bytes * (n - 1)) / n / busBytesPerSec;

describe('closed forms', () => {
  it('data parallelism: a weight matmul with the batch split 8 ways pays exactly the ring all-reduce of its gradient', () => {
    const dims = { b: 64, s: 1024, h: 1024, f: 1024 };
    const { graph, cluster, mesh } = setup(matmulGraph(dims), dgx, [1, 8]);
    const ctx = costContext(graph, mesh, cluster.gpu, 'none');
    const cost = costOfOp(graph.ops[0]!, { split: [null, 'b'] }, false, ctx);
    const weightBytes = dims.h * dims.f * 2;
    expect(cost.collectives).toEqual([
      {
        kind: 'all-reduce',
        axis: 1,
        bytes: weightBytes,
        sec: expect.any(Number),
        phase: 'backward',
        reason: 'gradient of w',
      },
    ]);
    expect(cost.gradSyncSec).toBeCloseTo(ringAllReduce(weightBytes, 8), 15);
    expect(cost.commSec).toBe(0);
    // Memory: the whole weight's state (16 B/param) plus 1/8 of the input the backward pass needs.
    expect(PARAM_STATE_BYTES).toBe(16);
    expect(cost.paramElements * PARAM_STATE_BYTES).toBe(dims.h * dims.f * 16);
    expect(cost.activationBytes).toBe((dims.b * dims.s * dims.h * 2) / 8);
  });

  it('the ILP picks data parallelism for a large batch and a small weight, at the ring all-reduce price', async () => {
    const dims = { b: 64, s: 1024, h: 1024, f: 1024 };
    const plan = await shardGraph({ ...setup(matmulGraph(dims), dgx, [1, 8]), memoryBudgetBytes: null });
    expect(plan.status).toBe('optimal');
    const op = plan.ops[0]!;
    expect(['b', 's']).toContain(op.strategy.axis1);
    expect(plan.totals!.commSec + plan.totals!.reshardSec).toBeCloseTo(
      ringAllReduce(dims.h * dims.f * 2, 8),
      15,
    );
  });

  it("the ILP picks Megatron's MLP split for a small batch and a large hidden size on 1x8", async () => {
    const plan = await shardGraph({ ...setup(mlp, dgx, [1, 8]), memoryBudgetBytes: null });
    expect(plan.status).toBe('optimal');
    const [fc1, gelu, fc2] = plan.ops;
    expect(fc1!.strategy.axis1).toBe('f');
    expect(gelu!.strategy.axis1).toBe('f');
    expect(fc2!.strategy.axis1).toBe('f');
    expect(fc1!.outputSpec.spec).toEqual(['R', 'R', 'S1']);
    expect(fc2!.inputSpecs.map((s) => s.spec)).toEqual([
      ['R', 'R', 'S1'],
      ['S1', 'R'],
    ]);
    // One forward all-reduce of the output, nothing else on the wire.
    const yBytes = 4 * 512 * 8192 * 2;
    const all = plan.ops.flatMap((o) => o.collectives);
    expect(all).toEqual([
      {
        kind: 'all-reduce',
        axis: 1,
        bytes: yBytes,
        sec: expect.any(Number),
        phase: 'forward',
        reason: 'output reduction',
      },
    ]);
    expect(plan.totals!.commSec).toBeCloseTo(ringAllReduce(yBytes, 8), 15);
    expect(plan.totals!.reshardSec).toBe(0);
  });
});
