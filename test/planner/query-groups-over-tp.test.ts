/**
 * Tensor parallelism past the key/value heads (tp a multiple of them, as Megatron-LM core_v0.19.0
 * runs it: a 1/tp slice of the fused QKV projection on each rank, its output all-gathered over tp,
 * each rank slicing out one group's keys and values and heads/tp query heads). The oracles: a twin
 * model with as many key/value heads as tp, whose ranks do the same query work; the gathers, whose
 * bytes are the whole tensors' (the queries', the keys' and the values'); and the divisibility a
 * rank's share of a group needs.
 */
import { describe, expect, it } from 'vitest';
import { resolveCluster } from '../../src/cluster/cluster.ts';
import { logicalMesh } from '../../src/cluster/mesh.ts';
import { evaluateLayout } from '../../src/cost/layout-eval.ts';
import { megatronStrategy } from '../../src/cost/megatron-layout.ts';
import { LayerSeries } from '../../src/cost/stage.ts';
import { parseGraph } from '../../src/graph/index.ts';
import { estimate } from '../../src/planner/estimate.ts';
import { InvalidInputError } from '../../src/schema/errors.ts';
import { ClusterSpec, type OpLayoutOut, type Plan, type PlanRequestInput } from '../../src/schema/index.ts';
import { build } from '../model/helpers.ts';

const [b, s, kvHeads, headDim] = [1, 4096, 2, 128];
const model = {
  kind: 'transformer',
  layers: 4,
  hidden: 4096,
  heads: 32,
  kvHeads,
  ffnHidden: 14336,
  vocab: 128256,
  seqLen: s,
  activation: 'swiglu',
} as const;

function request(kv: number, sequenceParallel: boolean, tp = 4): PlanRequestInput {
  return {
    model: { ...model, kvHeads: kv },
    cluster: { gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 },
    training: { globalBatch: 16, precision: 'bf16' },
    parallel: { tp, pp: 1, dp: 8 / tp, microBatch: b, sequenceParallel },
    options: { target: 'megatron' },
  };
}

/** The first block's attention ops of a plan, by name. */
function attentionOps(p: Plan): Map<string, OpLayoutOut> {
  const ops = p.stages[0]!.layerPlans.flatMap((l) => l.ops).filter((o) => o.op.startsWith('block0.'));
  return new Map(ops.map((o) => [o.op.slice('block0.'.length), o]));
}

describe('Megatron-LM’s layout with tp past the key/value heads', () => {
  const graph = parseGraph(build({ ...model, layers: 1 }).layers[1]!.graph);
  const split = (name: string, tp: number, sp: boolean) =>
    megatronStrategy(graph.ops.find((o) => o.name === `block0.${name}`)!, { tp, sequenceParallel: sp })
      .split[1];

  it('splits the query heads within a group, gathering the queries, and the key and value projections by head dim', () => {
    for (const name of ['q_proj', 'attention', 'out_proj']) expect(split(name, 4, true)).toBe('r');
    const strategyOf = (name: string) =>
      megatronStrategy(graph.ops.find((o) => o.name === `block0.${name}`)!, {
        tp: 4,
        sequenceParallel: true,
      });
    expect(strategyOf('q_proj').gathersOutputOn).toBe(1);
    for (const name of ['attention', 'out_proj']) expect(strategyOf(name).gathersOutputOn).toBeUndefined();
    for (const name of ['k_proj', 'v_proj']) {
      // On the sequence shards with sequence parallelism, a 1/tp slice of the columns without.
      expect(split(name, 4, true)).toBe('s');
      expect(split(name, 4, false)).toBe('d');
    }
    // tp within the key/value heads splits them, as before.
    for (const name of ['q_proj', 'k_proj', 'v_proj', 'attention', 'out_proj'])
      expect(split(name, 2, true)).toBe('g');
  });

  it('prices the query work of its twin with four key/value heads, and gathers the keys and values', async () => {
    const past = await estimate(request(kvHeads, true));
    const twin = await estimate(request(4, true));
    const ops = attentionOps(past);
    const twinOps = attentionOps(twin);
    for (const name of ['q_proj', 'attention', 'out_proj'])
      expect(ops.get(name)!.computeSec).toEqual(twinOps.get(name)!.computeSec);
    // Megatron gathers the whole QKV output: the queries (b × s × heads × headDim, bf16) on the q
    // projection, forward, and their gradient reduce-scattered backward; the keys and values for the
    // attention, each the whole tensor (b × s × groups × headDim).
    const queries = ops.get('q_proj')!.collectives.filter((c) => c.reason.includes('gathered'));
    expect(queries.map((c) => [c.kind, c.phase, c.bytes])).toEqual([
      ['all-gather', 'forward', b * s * model.heads * headDim * 2],
      ['reduce-scatter', 'backward', b * s * model.heads * headDim * 2],
    ]);
    const gathered = ops.get('attention')!.collectives.filter((c) => c.reason.startsWith('reshard'));
    expect(gathered.map((c) => [c.kind, c.phase, c.bytes])).toEqual(
      ['k', 'v'].flatMap(() => [
        ['all-gather', 'forward', b * s * kvHeads * headDim * 2],
        ['reduce-scatter', 'backward', b * s * kvHeads * headDim * 2],
      ]),
    );
    expect(past.summary!.stepTimeSec / twin.summary!.stepTimeSec).toBeGreaterThan(1);
    expect(past.summary!.stepTimeSec / twin.summary!.stepTimeSec).toBeLessThan(1.1);
    // The export says what Megatron does with them; the twin, within its groups, has no such note.
    const gatherNote = /^tp 4 exceeds the 2 query groups: .* 8 of its query heads/;
    expect(past.exports!.megatron.notes.filter((n) => gatherNote.test(n))).toHaveLength(1);
    expect(twin.exports!.megatron.notes.some((n) => n.includes('exceeds the'))).toBe(false);
    expect(past.exports!.megatron.args).toEqual(
      expect.arrayContaining(['--tensor-model-parallel-size', '4', '--num-query-groups', String(kvHeads)]),
    );
  });

  it('for JAX, whose GSPMD computes each rank’s query heads in place, prices no query gather', async () => {
    const megatron = await estimate(request(kvHeads, true));
    const jax = await estimate({ ...request(kvHeads, true), options: { target: 'jax' } });
    expect([...attentionOps(jax).get('q_proj')!.collectives].some((c) => c.reason.includes('gathered'))).toBe(
      false,
    );
    // The same layout otherwise: the tensor-parallel traffic differs by Megatron's gather, every block
    // of every microbatch.
    const gather = attentionOps(megatron)
      .get('q_proj')!
      .collectives.filter((c) => c.reason.includes('gathered'))
      .reduce((t, c) => t + c.sec, 0);
    const { microbatches } = megatron.summary!;
    expect(megatron.breakdown!.tpCommSec - jax.breakdown!.tpCommSec).toBeCloseTo(
      microbatches * model.layers * gather,
      9,
    );
  });

  it('without sequence parallelism computes a slice of the keys’ and values’ columns and gathers them', async () => {
    const ops = attentionOps(await estimate(request(kvHeads, false)));
    expect(ops.get('k_proj')!.strategy.label).toBe('d@1');
    const moved = ops.get('attention')!.collectives.map((c) => [c.kind, c.phase]);
    expect(moved).toEqual(
      ['k', 'v'].flatMap(() => [
        ['all-gather', 'forward'],
        ['reduce-scatter', 'backward'],
      ]),
    );
  });

  it('leaves the query gather exposed under Transformer Engine’s overlap, which does not reach it', () => {
    const cluster = resolveCluster(ClusterSpec.parse({ gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 }));
    const mesh = logicalMesh(cluster, [1, 4]);
    const layer = evaluateLayout(graph, mesh, { gpu: cluster.gpu, recompute: 'none' }, (i) =>
      megatronStrategy(graph.ops[i]!, { tp: 4, sequenceParallel: true }),
    )!;
    const q = layer.ops[graph.ops.findIndex((o) => o.name === 'block0.q_proj')]!;
    const gather = q.cost.collectives
      .filter((c) => c.reason.includes('gathered'))
      .reduce((t, c) => t + c.sec, 0);
    expect(gather).toBeGreaterThan(0);
    expect(layer.outputGatherSec).toBeCloseTo(gather, 15);
    const tpOverlap = 0.5;
    const series = new LayerSeries(mesh, [layer], tpOverlap);
    const hidden = series.hiddenByOverlapSec(0, 0, {
      overlapInputGradientReduce: false,
      overlapTensorParallelComm: true,
      overlapExpertParallelComm: false,
    });
    const a = layer.inputGradientHideableSec;
    expect(hidden).toBeCloseTo(a + tpOverlap * (layer.commSec - gather + layer.reshardSec - a), 12);
    // Full recomputation redoes the projection, and its gather, before the backward.
    const recomputed = evaluateLayout(graph, mesh, { gpu: cluster.gpu, recompute: 'full' }, (i) =>
      megatronStrategy(graph.ops[i]!, { tp: 4, sequenceParallel: true }),
    )!;
    const again = recomputed.ops[
      graph.ops.findIndex((o) => o.name === 'block0.q_proj')
    ]!.cost.collectives.filter((c) => c.reason.includes('gathered'));
    expect(again.map((c) => c.reason)).toEqual([
      'output gathered and sliced',
      'gathered output gradient',
      'recompute output gathered and sliced',
    ]);
    expect(recomputed.outputGatherSec).toBeCloseTo(
      again.reduce((t, c) => t + c.sec, 0),
      15,
    );
  });

  it('refuses, naming tp, a split the query heads of a group cannot share', async () => {
    // 16 query heads in 4 groups of 4 over tp 8: a rank would hold half of a query head.
    const refused = estimate({
      ...request(4, true, 8),
      model: { ...model, heads: 16, kvHeads: 4, hidden: 2048 },
    });
    await expect(refused).rejects.toThrow(InvalidInputError);
    await expect(refused).rejects.toMatchObject({
      issues: [
        { path: 'parallel.tp', message: expect.stringMatching(/4 key\/value heads.*4 query heads.*8/) },
      ],
    });
  });
});
