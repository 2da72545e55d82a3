/**
 * A node that is a whole NVL72 rack: 72 GPUs in one NVLink domain. Its sub-meshes have axes of 3, 9
 * or 72 that no dimension of a small model divides, so an op can have no strategy on some of them;
 * the search must pass over such meshes, as over a failed solve, not fail the plan. A node of 5, 6 or
 * 7 GPUs splits into logical meshes only by the powers of two that divide it.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCluster } from '../../src/cluster/index.ts';
import { logicalMesh } from '../../src/cluster/mesh.ts';
import { parseGraph } from '../../src/graph/index.ts';
import { logicalShapes } from '../../src/planner/config-space.ts';
import { plan } from '../../src/planner/plan.ts';
import { shardGraph } from '../../src/planner/shard.ts';
import type { PlanRequestInput } from '../../src/schema/index.ts';

const request: PlanRequestInput = {
  model: {
    kind: 'transformer',
    name: 'small',
    layers: 4,
    hidden: 1024,
    heads: 16,
    kvHeads: 8,
    ffnHidden: 2816,
    vocab: 32000,
    seqLen: 1024,
    activation: 'swiglu',
  },
  cluster: { gpu: 'GB200-186GB', nodes: 1, gpusPerNode: 72 },
  training: { globalBatch: 144, precision: 'bf16', optimizer: 'adam' },
  options: { timeLimitSec: 60 },
};

describe('a 72-GPU NVLink domain', () => {
  it('plans over all 72 GPUs, for any framework and for Megatron-LM', { timeout: 120_000 }, async () => {
    for (const target of ['any', 'megatron'] as const) {
      const answer = await plan({ ...request, options: { ...request.options, target } });
      expect(answer.status, target).toBe('optimal');
      const s = answer.summary!;
      expect(s.gpus, target).toBe(72);
      expect(s.dp * s.tp * s.pp * s.cp, target).toBe(72);
    }
  });
});

describe('nodes whose GPU count is not a power of two', () => {
  it('split into logical meshes of whole axes only', () => {
    expect(logicalShapes(5, undefined)).toEqual([[1, 5]]);
    expect(logicalShapes(6, undefined)).toEqual([
      [1, 6],
      [2, 3],
    ]);
    expect(logicalShapes(72, undefined)).toEqual([
      [1, 72],
      [2, 36],
      [4, 18],
      [8, 9],
    ]);
  });

  it('plan over every GPU of 5-, 6- and 7-GPU nodes', { timeout: 120_000 }, async () => {
    for (const gpusPerNode of [5, 6, 7]) {
      const answer = await plan({
        ...request,
        cluster: { gpu: 'H100-80GB', nodes: 2, gpusPerNode },
        training: { ...request.training, globalBatch: 4 * gpusPerNode },
      });
      expect(answer.status, `${gpusPerNode}`).toBe('optimal');
      expect(answer.summary!.gpus, `${gpusPerNode}`).toBe(2 * gpusPerNode);
    }
  });
});

describe('a replica no mesh of which lays the model out', () => {
  it('is infeasible for divisibility, with no memory shortfall claimed', { timeout: 60_000 }, async () => {
    // Two sequences over 24 GPUs in 6-GPU nodes: each replica holds 12 GPUs in stages of 4 or 6
    // (meshes 1 × 4, 1 × 6 or 2 × 3), and no axis of 3, 4 or 6 divides 10 query heads of 64 sharing
    // one key/value head.
    const answer = await plan({
      ...request,
      model: { ...request.model, hidden: 640, heads: 10, kvHeads: 1, ffnHidden: 2048, layers: 3 },
      cluster: { gpu: 'H100-80GB', nodes: 4, gpusPerNode: 6 },
      training: { ...request.training, globalBatch: 2 },
    });
    expect(answer.status).toBe('infeasible');
    expect(answer.reason).toMatch(/^no configuration satisfies the pinned degrees and divisibility/);
    expect(answer.shortfallBytes).toBeUndefined();
  });
});

describe('one graph on a mesh none of its dimensions divides', () => {
  it('is an infeasible answer naming the ops without a sharding, not a failed solve', async () => {
    const example = (name: string) =>
      JSON.parse(readFileSync(new URL(`../../examples/${name}`, import.meta.url), 'utf8')) as unknown;
    const graph = parseGraph(example('gpt-block.graph.json'));
    const cluster = parseCluster(example('dgx-a100.cluster.json'));
    const onMesh = (shape: [number, number]) =>
      shardGraph({ graph, cluster, mesh: logicalMesh(cluster, shape), memoryBudgetBytes: null });
    const answer = await onMesh([1, 7]);
    expect(answer.status).toBe('infeasible');
    expect(answer.reason).toMatch(/^q_proj, .* no valid sharding on the 1×7 mesh/);
    expect(answer.ops).toEqual([]);
    // The same graph on a mesh that divides it is solved as before.
    const solved = await onMesh([1, 8]);
    expect(solved.status).toBe('optimal');
  });
});
