import { describe, expect, it } from 'vitest';
import { resolveCluster } from '../../src/cluster/cluster.ts';
import { logicalMesh } from '../../src/cluster/mesh.ts';
import type { Layout } from '../../src/cost/layout.ts';
import { tensorSpec } from '../../src/cost/layout.ts';
import { reshard } from '../../src/cost/reshard.ts';

// 2 nodes × 4 GPUs as a 2x4 mesh: axis 0 crosses nodes (25 GB/s, 10 µs a hop), axis 1 stays on
// NVLink (300 GB/s, 5 µs a hop).
const cluster = resolveCluster({
  gpu: 'A100-80GB',
  nodes: 2,
  gpusPerNode: 4,
  intraNodeGBps: 300,
  interNodeGBps: 25,
  intraNodeLatencyUs: 5,
  interNodeLatencyUs: 10,
});
const mesh = logicalMesh(cluster, [2, 4]);
const [n0, n1] = [2, 4];
const a0 = 10e-6;
const a1 = 5e-6;
// Axis 0 pairs one GPU of each node: its ring runs over each GPU's own rail at the network's
// achievable 0.96 of 25 GB/s. Axis 1's ring reaches nccl-tests' 232 GB/s busBW of A100 NVLink (GTC25
// S72583), 232/300 of the link.
const b0 = 1 / (0.96 * 25e9);
const b1 = 1 / 232e9;
const M = 64 * 2 ** 20;

// Alpa Table 2 with NCCL's ring written out by hand: a latency per ring step (n − 1 steps, all-reduce
// 2(n − 1); all-to-all one message per peer) and the bytes over the bus bandwidth.
const allGather = (bytes: number, a: number, b: number, n: number) => (n - 1) * a + (b * bytes * (n - 1)) / n;
const allReduce = (bytes: number, a: number, b: number, n: number) =>
  2 * (n - 1) * a + (2 * b * bytes * (n - 1)) / n;
const allToAll = (bytes: number, a: number, b: number, n: number) =>
  (n - 1) * a + (b * bytes * (n - 1)) / (n * n);

describe('resharding (Alpa Table 2, DESIGN.md §4)', () => {
  it('places axis 0 across nodes and axis 1 within a node', () => {
    expect(mesh.axes[0].spansNodes).toBe(true);
    expect(mesh.axes[1].spansNodes).toBe(false);
    expect(mesh.axes[0].betaSecPerByte).toBeCloseTo(1 / 25e9, 20);
    expect([mesh.axes[0].devicesPerNode, mesh.axes[0].nodes]).toEqual([1, 2]);
    expect([mesh.axes[1].devicesPerNode, mesh.axes[1].nodes]).toEqual([4, 1]);
  });

  const cases: [string, Layout, Layout, number][] = [
    ['RR → S0S1 is a local slice', ['R', 'R'], [0, 1], 0],
    ['S0R → RR all-gathers M over axis 0', [0, 'R'], ['R', 'R'], allGather(M, a0, b0, n0)],
    ['S0S1 → S0R all-gathers M/n0 over axis 1', [0, 1], [0, 'R'], allGather(M / n0, a1, b1, n1)],
    ['S0R → RS0 is an all-to-all over axis 0', [0, 'R'], [1, 'R'], allToAll(M, a0, b0, n0)],
    ['S0S1 → S01R is an all-to-all over axis 1', [0, 1], [0, 0], allToAll(M / n0, a1, b1, n1)],
    ['P on axis 1 → R all-reduces the shard', [0, 'P'], [0, 'R'], allReduce(M / n0, a1, b1, n1)],
    ['P on axis 1 → S1 reduce-scatters the shard', [0, 'P'], [0, 1], allGather(M / n0, a1, b1, n1)],
  ];
  for (const [name, from, to, expected] of cases) {
    it(name, () => {
      expect(reshard(M, from, to, mesh).sec).toBeCloseTo(expected, 12);
    });
  }

  it('gathers the slow axis first when both axes gather (the cheaper order)', () => {
    const slowFirst = allGather(M / n1, a0, b0, n0) + allGather(M, a1, b1, n1);
    const fastFirst = allGather(M / n0, a1, b1, n1) + allGather(M, a0, b0, n0);
    expect(slowFirst).toBeLessThan(fastFirst);
    expect(reshard(M, [0, 1], ['R', 'R'], mesh).sec).toBeCloseTo(slowFirst, 12);
  });

  it('prints per-dim specs', () => {
    expect(tensorSpec([0, 1], 2)).toEqual(['S0', 'S1']);
    expect(tensorSpec([1, 1], 3)).toEqual(['R', 'S01', 'R']);
    expect(tensorSpec(['P', 'R'], 2)).toEqual(['R', 'R']);
  });
});
