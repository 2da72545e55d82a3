/**
 * The answers meshplan gives for the files in examples/, written as fixtures by
 * scripts/example-fixtures.ts and compared by examples.test.ts: what a refactoring must not move.
 */
import { readFile } from 'node:fs/promises';
import { parseCluster } from '../../src/cluster/index.ts';
import { logicalMesh } from '../../src/cluster/mesh.ts';
import { parseGraph } from '../../src/graph/index.ts';
import { estimate } from '../../src/planner/estimate.ts';
import { plan } from '../../src/planner/plan.ts';
import { shardGraph } from '../../src/planner/shard.ts';

export type ExampleFixture =
  | {
      readonly kind: 'plan' | 'estimate';
      readonly file: string;
      readonly fixture: string;
      readonly parallel?: object;
    }
  | {
      readonly kind: 'shard';
      readonly file: string;
      readonly fixture: string;
      readonly cluster: string;
      readonly mesh: readonly [number, number];
    };

export const EXAMPLE_FIXTURES: readonly ExampleFixture[] = [
  { kind: 'plan', file: 'gpt3-175b-1024xa100.request.json', fixture: 'gpt3-175b.plan.json' },
  { kind: 'plan', file: 'llama3-70b-256xh100.request.json', fixture: 'llama3-70b.plan.json' },
  { kind: 'estimate', file: 'gpt3-175b-1024xa100.estimate.json', fixture: 'gpt3-175b.estimate.json' },
  {
    kind: 'estimate',
    file: 'llama3-70b-256xh100.request.json',
    fixture: 'llama3-70b.estimate.json',
    parallel: { tp: 8, pp: 4, dp: 8, microBatch: 1, virtualStages: 5, recompute: 'full', zero: 1 },
  },
  {
    kind: 'estimate',
    file: 'nemotron-3-super-64xgb300.request.json',
    fixture: 'nemotron-3-super.estimate.json',
    // Megatron-Bridge 26.08's degrees for this run (TP 1, PP 1, EP 64, MBS 1).
    parallel: { tp: 1, pp: 1, dp: 64, ep: 64, microBatch: 1, zero: 1, fp8ParamGather: true },
  },
  {
    kind: 'shard',
    file: 'gpt-block.graph.json',
    fixture: 'gpt-block.shard.json',
    cluster: 'dgx-a100.cluster.json',
    mesh: [2, 4],
  },
  {
    kind: 'shard',
    file: 'mlp.graph.json',
    fixture: 'mlp.shard.json',
    cluster: 'dgx-h100.cluster.json',
    mesh: [1, 8],
  },
];

async function example(file: string): Promise<unknown> {
  return JSON.parse(await readFile(new URL(`../../examples/${file}`, import.meta.url), 'utf8'));
}

export async function exampleAnswer(fixture: ExampleFixture, input: unknown): Promise<unknown> {
  if (fixture.kind === 'shard') {
    const cluster = parseCluster(await example(fixture.cluster));
    return shardGraph({
      graph: parseGraph(input),
      cluster,
      mesh: logicalMesh(cluster, fixture.mesh),
      memoryBudgetBytes: null,
      // The exact elimination DP breaks ties the same way every run, whatever MILP backend is fastest.
      backend: 'elimination',
    });
  }
  const request =
    fixture.parallel === undefined ? input : { ...(input as object), parallel: fixture.parallel };
  return fixture.kind === 'plan' ? plan(request) : estimate(request);
}

/** The answer without what differs from run to run: wall-clock times. */
export function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).flatMap(([k, v]) => (k === 'wallSec' ? [] : [[k, stable(v)]])),
    );
  }
  return value;
}
