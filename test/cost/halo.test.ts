/**
 * Convolutions split along a spatial axis exchange halos (issue 15): the border rows each device
 * needs from its two neighbours, by hand; and the ILP splitting a high-resolution, batch-1 chain of
 * convolutions spatially, where channels would cost all-reduces.
 */
import { describe, expect, it } from 'vitest';
import { costContext, costOfOp } from '../../src/cost/op-cost.ts';
import { isValid } from '../../src/cost/strategy.ts';
import { shardGraph } from '../../src/planner/shard.ts';
import type { OpGraphInput } from '../../src/schema/index.ts';
import { setup } from './helpers.ts';

const dgx = { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 8, intraNodeGBps: 300 };
const alpha = 5e-6;
const beta = 1 / 300e9;

/** `n` same-padded 3×3 convolutions of c channels on a b × c × size × size image (fp16). */
function convChain(n: number, dims: { b: number; c: number; size: number }): OpGraphInput {
  const { b, c, size } = dims;
  const act = (i: number) => ({ name: `x${i}`, shape: [b, c, size, size], dtype: 'fp16' as const });
  return {
    name: 'conv-chain',
    tensors: [
      act(0),
      ...Array.from({ length: n }, (_, i) => [
        { name: `w${i}`, shape: [c, c, 3, 3], param: true, dtype: 'fp16' as const },
        act(i + 1),
      ]).flat(),
    ],
    ops: Array.from({ length: n }, (_, i) => ({
      name: `conv${i}`,
      einsum: 'bchw,ockl->bohw',
      inputs: [`x${i}`, `w${i}`],
      output: `x${i + 1}`,
      kind: 'matmul' as const,
      flops: 2 * b * c * size * size * c * 9,
      halo: { h: 1, w: 1 },
    })),
  };
}

describe('halo exchange', () => {
  it('a spatial split of 4 sends one border row of its input shard to each neighbour, forward and backward', () => {
    const dims = { b: 2, c: 64, size: 256 };
    const { graph, cluster, mesh } = setup(convChain(1, dims), dgx, [1, 4]);
    const ctx = costContext(graph, mesh, cluster.gpu, 'none');
    const cost = costOfOp(graph.ops[0]!, { split: [null, 'h'] }, false, ctx);
    // One row of the input shard: b · c · 1 · size elements of 2 bytes, to each of two neighbours.
    const bytes = 2 * (dims.b * dims.c * dims.size * 2);
    const sec = alpha + beta * bytes;
    expect(cost.collectives.map((c) => [c.kind, c.phase, c.bytes])).toEqual([
      ['all-reduce', 'backward', 64 * 64 * 9 * 2],
      ['halo-exchange', 'forward', bytes],
      ['halo-exchange', 'backward', bytes],
    ]);
    // The halos are paid every microbatch; the weight's gradient (replicated over the shards) once a step.
    expect(cost.commSec).toBeCloseTo(2 * sec, 15);
    expect(cost.gradSyncSec).toBeGreaterThan(0);
  });

  it('a device keeps at least the halo: a split leaving fewer rows than the window needs is not offered', () => {
    const { graph } = setup(convChain(1, { b: 1, c: 8, size: 8 }), dgx, [1, 8]);
    const op = { ...graph.ops[0]!, halo: new Map([['h', 2]]) };
    const options = { reducesOutput: false, allowReplicatedMatmul: false };
    expect(isValid(op, { split: [null, 'h'] }, [1, 4], options)).toBe(true);
    expect(isValid(op, { split: [null, 'h'] }, [1, 8], options)).toBe(false);
  });

  it('the ILP splits a batch-1 high-resolution chain spatially: halos are cheaper than all-reduces of split channels', async () => {
    const plan = await shardGraph({
      ...setup(convChain(3, { b: 1, c: 64, size: 1024 }), dgx, [1, 8]),
      memoryBudgetBytes: null,
    });
    expect(plan.status).toBe('optimal');
    for (const op of plan.ops) expect(['h', 'w']).toContain(op.strategy.axis1);
    const kinds = new Set(plan.ops.flatMap((o) => o.collectives.map((c) => c.kind)));
    expect(kinds).toEqual(new Set(['halo-exchange', 'all-reduce']));
    // The only all-reduces are the weights' gradients (data-parallel over the spatial shards).
    for (const c of plan.ops.flatMap((o) => o.collectives))
      if (c.kind === 'all-reduce') expect(c.reason).toMatch(/^gradient of w/);
  });
});
