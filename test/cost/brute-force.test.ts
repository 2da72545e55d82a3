import { describe, expect, it } from 'vitest';
import { edgeReshards } from '../../src/cost/edge-cost.ts';
import { buildIntraOpModel, type IntraOpModel } from '../../src/cost/intra-op.ts';
import { PARAM_STATE_BYTES } from '../../src/cost/memory.ts';
import { shardGraph } from '../../src/planner/shard.ts';
import type { OpGraphInput } from '../../src/schema/index.ts';
import { setup } from './helpers.ts';

/** LayerNorm → fc1 → GELU → fc2 → residual add → fc3: norms, followers, fan-out and a join. */
function residualMlp(withTail: boolean): OpGraphInput {
  const [b, s, h, f] = [8, 256, 1024, 4096];
  const t = (name: string, shape: number[], param = false) => ({ name, shape, param });
  return {
    name: 'residual-mlp',
    tensors: [
      t('x', [b, s, h]),
      t('g', [h], true),
      t('xn', [b, s, h]),
      t('w1', [h, f], true),
      t('h1', [b, s, f]),
      t('a1', [b, s, f]),
      t('w2', [f, h], true),
      t('h2', [b, s, h]),
      t('r', [b, s, h]),
      t('w3', [h, h], true),
      t('y', [b, s, h]),
    ],
    ops: [
      {
        name: 'ln',
        einsum: 'bsh,h->bsh',
        inputs: ['x', 'g'],
        output: 'xn',
        kind: 'norm',
        reducedDims: ['h'],
      },
      { name: 'fc1', einsum: 'bsh,hf->bsf', inputs: ['xn', 'w1'], output: 'h1', kind: 'matmul' },
      { name: 'gelu', einsum: 'bsf->bsf', inputs: ['h1'], output: 'a1', kind: 'elementwise' },
      { name: 'fc2', einsum: 'bsf,fh->bsh', inputs: ['a1', 'w2'], output: 'h2', kind: 'matmul' },
      ...(withTail
        ? [
            {
              name: 'add',
              einsum: 'bsh,bsh->bsh',
              inputs: ['xn', 'h2'],
              output: 'r',
              kind: 'elementwise' as const,
            },
            { name: 'fc3', einsum: 'bsh,hk->bsk', inputs: ['r', 'w3'], output: 'y', kind: 'matmul' as const },
          ]
        : []),
    ],
  };
}

/** Cost of a full assignment, summed op by op and edge by edge, without the ILP's matrices. */
function assignmentCost(model: IntraOpModel, choice: readonly number[]) {
  const at = (op: number) =>
    model.groups[model.groupOf[op]!]!.strategies[choice[model.groupOf[op]!]!]!.members.get(op)!;
  let sec = 0;
  let bytes = 0;
  for (const op of model.graph.ops) {
    const { cost } = at(op.index);
    sec += cost.forwardSec + cost.backwardSec + cost.commSec + cost.gradSyncSec;
    bytes += cost.paramElements * PARAM_STATE_BYTES + cost.activationBytes;
  }
  for (const edge of model.tensorEdges) {
    const r = edgeReshards(model, edge, at(edge.producer).strategy, at(edge.consumer).strategy);
    sec += r.forward.sec + r.backward.sec;
  }
  return { sec, bytes };
}

function bruteForce(model: IntraOpModel, budgetBytes: number | null) {
  const sizes = model.groups.map((g) => g.strategies.length);
  const choice = sizes.map(() => 0);
  let best = Number.POSITIVE_INFINITY;
  let least = Number.POSITIVE_INFINITY;
  for (;;) {
    const { sec, bytes } = assignmentCost(model, choice);
    least = Math.min(least, bytes);
    if ((budgetBytes === null || bytes <= budgetBytes) && sec < best) best = sec;
    let i = 0;
    while (i < sizes.length && ++choice[i]! === sizes[i]) choice[i++] = 0;
    if (i === sizes.length) return { best, least };
  }
}

const cluster = { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 8 };
const cases: [string, boolean, [number, number]][] = [
  ['residual MLP on 1x4', true, [1, 4]],
  ['MLP with a norm on 2x2', false, [2, 2]],
];

describe('the intra-op plan equals brute force over every strategy assignment', () => {
  for (const [name, tail, shape] of cases) {
    it(name, async () => {
      const s = setup(residualMlp(tail), cluster, shape);
      const model = buildIntraOpModel(s.graph, s.mesh, {
        gpu: s.cluster.gpu,
        paramStateBytesPerParam: PARAM_STATE_BYTES,
      });
      const free = bruteForce(model, null);
      const plan = await shardGraph({ ...s, memoryBudgetBytes: null });
      expect(plan.status).toBe('optimal');
      expect(plan.totals!.totalSec).toBeCloseTo(free.best, 12);

      // A budget just above the smallest possible footprint binds: the optimum must move with it.
      const budget = free.least * 1.05;
      const bound = bruteForce(model, budget);
      const tight = await shardGraph({ ...s, memoryBudgetBytes: budget });
      expect(tight.status).toBe('optimal');
      expect(tight.totals!.totalSec).toBeCloseTo(bound.best, 12);
      expect(tight.totals!.memoryBytesPerDevice).toBeLessThanOrEqual(budget * (1 + 1e-9));

      const impossible = await shardGraph({ ...s, memoryBudgetBytes: free.least * 0.9 });
      expect(impossible.status).toBe('infeasible');
      expect(impossible.reason).toMatch(/needs at least .* GiB per device/);
    });
  }
});
