/**
 * Collectives as NCCL runs them (DESIGN.md §4.1), against oracles written here by hand: nccl-tests'
 * bus-bandwidth conventions (doc/PERFORMANCE.md: busBW = algBW · 2(n − 1)/n for all-reduce,
 * · (n − 1)/n for all-gather and reduce-scatter), the catalog's published busBW plateaus, NCCL's
 * latency model (src/graph/tuning.cc) written out as numbers, and monotonicity.
 */
import { describe, expect, it } from 'vitest';
import { GPU_CATALOG } from '../../src/cluster/catalog.ts';
import { resolveCluster } from '../../src/cluster/cluster.ts';
import {
  algorithmSec,
  chosenAlgorithm,
  collectiveSec,
  nodeDeduplicatedAllToAllSec,
} from '../../src/cluster/collectives.ts';
import { logicalMesh, type MeshAxis } from '../../src/cluster/mesh.ts';
import type { ClusterInput } from '../../src/schema/cluster.ts';
import { ClusterSpec } from '../../src/schema/cluster.ts';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
// The defaults' per-hop latencies (NCCL's LL128 ring step over NVLink and over the network).
const NVLINK_HOP_SEC = 1.9e-6;
const NETWORK_HOP_SEC = 4e-6;
const NETWORK_SHARE = 0.96;

/** One mesh axis over `gpus` consecutive devices of `nodes` × `gpus / nodes` GPUs. */
function flatAxis(
  cluster: Omit<ClusterInput, 'nodes' | 'gpusPerNode'>,
  gpus: number,
  nodes: number,
): MeshAxis {
  const c = resolveCluster(ClusterSpec.parse({ ...cluster, nodes, gpusPerNode: gpus / nodes }));
  return logicalMesh(c, [1, gpus]).axes[1];
}

/** nccl-tests' bus bandwidth of a measured time, bytes/s. */
function busBytesPerSec(kind: 'all-reduce' | 'all-gather', n: number, bytes: number, sec: number): number {
  const share = kind === 'all-reduce' ? (2 * (n - 1)) / n : (n - 1) / n;
  return (bytes / sec) * share;
}

describe('bus bandwidth as nccl-tests reports it', () => {
  it('an 8× A100 ring reaches the 232 GB/s busBW of GTC25 S72583 in all-reduce and all-gather alike', () => {
    const axis = flatAxis({ gpu: 'A100-80GB' }, 8, 1);
    const bytes = 8 * GiB;
    const allReduce = algorithmSec('all-reduce', axis, 'ring', bytes)!;
    const allGather = algorithmSec('all-gather', axis, 'ring', bytes)!;
    expect(busBytesPerSec('all-reduce', 8, bytes, allReduce) / 232e9).toBeCloseTo(1, 3);
    expect(busBytesPerSec('all-gather', 8, bytes, allGather) / 232e9).toBeCloseTo(1, 3);
    // An all-reduce moves twice what an all-gather of the same buffer moves, over twice the steps.
    expect(allReduce).toBeCloseTo(2 * allGather, 12);
  });

  it('reproduces every published plateau of the catalog for the GPU counts listed, within 3%', () => {
    let checked = 0;
    for (const [id, { spec }] of Object.entries(GPU_CATALOG)) {
      for (const figure of spec.allReduceBusBandwidth ?? []) {
        // NVLS across nodes needs SHARP in the network switches too (the H100 row "SHARP 8x 400Gb
        // RDMA"); a cluster spec does not describe its switches, so the model prices none.
        if (figure.nodes > 1 && figure.algorithm === 'nvls') continue;
        const axis = flatAxis({ gpu: id }, figure.gpus, figure.nodes);
        const bytes = figure.messageBytes ?? 8 * GiB;
        // An unnamed algorithm across nodes is the ring: those rows equal the ring's bound.
        const sec = algorithmSec('all-reduce', axis, figure.algorithm ?? 'ring', bytes)!;
        const bus = busBytesPerSec('all-reduce', figure.gpus, bytes, sec) / 1e9;
        expect(
          Math.abs(bus / figure.busGBps - 1),
          `${id} ${figure.gpus} GPUs ${figure.algorithm}`,
        ).toBeLessThan(0.03);
        checked++;
      }
    }
    expect(checked).toBeGreaterThanOrEqual(12);
  });

  it('across nodes the ring runs at the node rails (8 × 25 GB/s × 0.96 on DGX A100) where NVLink is faster', () => {
    const axis = flatAxis({ gpu: 'A100-80GB' }, 32, 4);
    const bytes = 4 * GiB;
    const ring =
      28 * 2 * NVLINK_HOP_SEC +
      3 * 2 * NETWORK_HOP_SEC +
      ((2 * 31) / 32) * (bytes / (8 * 25e9 * NETWORK_SHARE));
    expect(algorithmSec('all-reduce', axis, 'ring', bytes)).toBeCloseTo(ring, 12);
  });
});

describe('ring latency per step (NCCL tuning.cc)', () => {
  it('an intra-node ring all-reduce pays 2(n − 1) NVLink hops; all-gather and reduce-scatter n − 1', () => {
    const axis = flatAxis({ gpu: 'V100-32GB' }, 8, 1);
    const bytes = 1000;
    const perByte = 1 / 122e9; // GTC24's V100 ring busBW
    expect(collectiveSec('all-reduce', axis, bytes)).toBeCloseTo(
      14 * NVLINK_HOP_SEC + 1.75 * bytes * perByte,
      15,
    );
    expect(collectiveSec('all-gather', axis, bytes)).toBeCloseTo(
      7 * NVLINK_HOP_SEC + 0.875 * bytes * perByte,
      15,
    );
    expect(collectiveSec('reduce-scatter', axis, bytes)).toBeCloseTo(
      7 * NVLINK_HOP_SEC + 0.875 * bytes * perByte,
      15,
    );
  });

  it('a group of one device moves nothing', () => {
    const axis = flatAxis({ gpu: 'A100-80GB' }, 8, 1);
    const solo = logicalMesh(
      resolveCluster(ClusterSpec.parse({ gpu: 'A100-80GB', nodes: 1, gpusPerNode: 8 })),
      [1, 8],
    ).axes[0];
    expect(collectiveSec('all-reduce', solo, GiB)).toBe(0);
    expect(collectiveSec('all-reduce', axis, 0)).toBe(0);
  });
});

describe('tree for small messages across nodes', () => {
  // 4 DGX A100 nodes, one 32-GPU group. Ring: 2·28 NVLink + 2·3 network hops, 2·31/32 of the bytes
  // at 192 GB/s. Tree: 2·(7 NVLink hops + log2(4) network hops), all bytes at 0.45 × 192 GB/s.
  const axis = flatAxis({ gpu: 'A100-80GB' }, 32, 4);
  const bus = 8 * 25e9 * NETWORK_SHARE;
  const ringLatency = 56 * NVLINK_HOP_SEC + 6 * NETWORK_HOP_SEC;
  const ringPerByte = (2 * 31) / 32 / bus;
  const treeLatency = 2 * (7 * NVLINK_HOP_SEC + 2 * NETWORK_HOP_SEC);
  const treePerByte = 1 / (0.5 * 0.9 * bus);
  const crossoverBytes = (ringLatency - treeLatency) / (treePerByte - ringPerByte);

  it('prices the tree as NCCL does', () => {
    expect(algorithmSec('all-reduce', axis, 'tree', MiB)).toBeCloseTo(treeLatency + treePerByte * MiB, 15);
  });

  it('picks the tree below the crossover and the ring above it', () => {
    expect(crossoverBytes / MiB).toBeGreaterThan(30);
    expect(crossoverBytes / MiB).toBeLessThan(100);
    expect(chosenAlgorithm('all-reduce', axis, crossoverBytes / 2)).toBe('tree');
    expect(chosenAlgorithm('all-reduce', axis, crossoverBytes * 2)).toBe('ring');
    expect(collectiveSec('all-reduce', axis, crossoverBytes)).toBeCloseTo(
      ringLatency + ringPerByte * crossoverBytes,
      12,
    );
    expect(collectiveSec('all-reduce', axis, 1024)).toBeCloseTo(treeLatency + treePerByte * 1024, 15);
  });

  it('never runs a tree inside one node', () => {
    expect(algorithmSec('all-reduce', flatAxis({ gpu: 'A100-80GB' }, 8, 1), 'tree', MiB)).toBeUndefined();
  });
});

describe('NVLS on NVSwitch systems', () => {
  it('all-reduces inside an H100 node at 480 GB/s busBW in two switch hops', () => {
    const axis = flatAxis({ gpu: 'H100-80GB' }, 8, 1);
    const bytes = 256 * MiB;
    expect(chosenAlgorithm('all-reduce', axis, bytes)).toBe('nvls');
    expect(collectiveSec('all-reduce', axis, bytes)).toBeCloseTo(
      2 * NVLINK_HOP_SEC + (1.75 * bytes) / 480e9,
      12,
    );
  });

  it('is not offered where the switch cannot reduce (A100) or the group leaves the domain', () => {
    expect(algorithmSec('all-reduce', flatAxis({ gpu: 'A100-80GB' }, 8, 1), 'nvls', MiB)).toBeUndefined();
    expect(algorithmSec('all-reduce', flatAxis({ gpu: 'H100-80GB' }, 16, 2), 'nvls', MiB)).toBeUndefined();
  });
});

describe('hierarchical: groups spanning nodes with several devices on each', () => {
  // 2 DGX-1 nodes (8 V100, one 50 Gb/s NIC per GPU: 6.25 GB/s) in one 16-GPU group.
  const axis = flatAxis({ gpu: 'V100-32GB', interNodeGBps: 6.25 }, 16, 2);
  const rail = 6.25e9 * NETWORK_SHARE;

  it('reduce-scatters in the node, all-reduces 1/8 of the bytes over each rail, all-gathers in the node', () => {
    const bytes = 512 * MiB;
    const inNode = (2 * 7) / 8 / 122e9; // reduce-scatter + all-gather over 8 GPUs of NVLink ring
    const overRails = (2 * 1) / 2 / rail / 8; // ring all-reduce of bytes/8 over 2 nodes
    const expected = 2 * (7 * NVLINK_HOP_SEC + 1 * NETWORK_HOP_SEC) + bytes * (inNode + overRails);
    expect(algorithmSec('all-reduce', axis, 'hierarchical', bytes)).toBeCloseTo(expected, 12);
    // The flat ring pushes 2·15/16 of the bytes through the node's 8 rails: slower here.
    const ring = 2 * 14 * NVLINK_HOP_SEC + 2 * NETWORK_HOP_SEC + ((2 * 15) / 16) * (bytes / (8 * rail));
    expect(algorithmSec('all-reduce', axis, 'ring', bytes)).toBeCloseTo(ring, 12);
    expect(chosenAlgorithm('all-reduce', axis, bytes)).toBe('hierarchical');
    expect(collectiveSec('all-reduce', axis, bytes)).toBeCloseTo(expected, 12);
  });

  it('reduce-scatter runs the first two phases: in the node, then 1/8 of the bytes over the rails', () => {
    const bytes = 512 * MiB;
    const expected = 7 * NVLINK_HOP_SEC + NETWORK_HOP_SEC + bytes * (7 / 8 / 122e9 + 1 / 2 / rail / 8);
    expect(algorithmSec('reduce-scatter', axis, 'hierarchical', bytes)).toBeCloseTo(expected, 12);
  });
});

describe('all-to-all', () => {
  it('inside a node: one message per peer, (n − 1)/n² of the group total over NVLink', () => {
    const axis = flatAxis({ gpu: 'A100-80GB' }, 8, 1);
    const total = GiB;
    expect(collectiveSec('all-to-all', axis, total)).toBeCloseTo(
      7 * NVLINK_HOP_SEC + (total * 7) / 64 / 232e9,
      12,
    );
  });

  it('across nodes the peers off the node travel over the device rail, the rest over NVLink at once', () => {
    const axis = flatAxis({ gpu: 'A100-80GB' }, 16, 2);
    const total = GiB;
    const rail = 25e9 * NETWORK_SHARE;
    // Each device holds total/16 and sends 1/16 of it to each of 8 peers off its node.
    const expected = 7 * NVLINK_HOP_SEC + 8 * NETWORK_HOP_SEC + ((total / 16) * (8 / 16)) / rail;
    expect(collectiveSec('all-to-all', axis, total)).toBeCloseTo(expected, 12);
  });
});

describe('a node-deduplicating all-to-all (DeepEP, HybridEP)', () => {
  it('inside one node it is the all-to-all', () => {
    const axis = flatAxis({ gpu: 'A100-80GB' }, 8, 1);
    expect(nodeDeduplicatedAllToAllSec(axis, GiB, 0.25)).toBe(collectiveSec('all-to-all', axis, GiB));
  });

  it('across nodes: one RDMA peer a remote node, the share of the network bytes, the same NVLink bytes', () => {
    const axis = flatAxis({ gpu: 'A100-80GB' }, 16, 2);
    const total = GiB;
    const rail = 25e9 * NETWORK_SHARE;
    const network = ((total / 16) * (8 / 16)) / rail;
    const nvlink = ((total / 16) * (7 / 16)) / 232e9;
    const latency = 7 * NVLINK_HOP_SEC + NETWORK_HOP_SEC;
    expect(nodeDeduplicatedAllToAllSec(axis, total, 0.25)).toBeCloseTo(
      latency + Math.max(nvlink, 0.25 * network),
      12,
    );
    // With nothing to deduplicate it moves the all-to-all's bytes, over fewer network hops.
    expect(nodeDeduplicatedAllToAllSec(axis, total, 1)).toBeCloseTo(
      collectiveSec('all-to-all', axis, total) - 7 * NETWORK_HOP_SEC,
      12,
    );
  });
});

describe('monotonicity', () => {
  const sizes = [1, 1024, 64 * 1024, MiB, 16 * MiB, 256 * MiB, 4 * GiB];
  for (const gpu of ['V100-32GB', 'A100-80GB', 'H100-80GB', 'B200-180GB', 'MI300X-192GB']) {
    it(`${gpu}: more bytes never take less time; a larger group never all-reduces a buffer faster`, () => {
      for (const kind of ['all-reduce', 'all-gather', 'reduce-scatter', 'all-to-all'] as const) {
        for (const n of [2, 4, 8, 16, 32, 64]) {
          const axis = flatAxis({ gpu }, n, Math.max(1, n / 8));
          for (let i = 1; i < sizes.length; i++)
            expect(collectiveSec(kind, axis, sizes[i]!)).toBeGreaterThanOrEqual(
              collectiveSec(kind, axis, sizes[i - 1]!),
            );
        }
      }
      for (const bytes of sizes) {
        let previous = 0;
        for (const n of [2, 4, 8, 16, 32, 64, 128]) {
          const sec = collectiveSec('all-reduce', flatAxis({ gpu }, n, Math.max(1, n / 8)), bytes);
          expect(sec, `${n} GPUs, ${bytes} B`).toBeGreaterThanOrEqual(previous);
          previous = sec;
        }
      }
    });
  }
});

describe('where a group sits', () => {
  const cluster = resolveCluster(ClusterSpec.parse({ gpu: 'H100-80GB', nodes: 4, gpusPerNode: 8 }));
  const shape = (axis: MeshAxis) => [axis.devicesPerNode, axis.nodes, axis.spansNodes];

  it('a 4x8 mesh: axis 0 takes one GPU of each node, axis 1 one whole node', () => {
    const [slow, fast] = logicalMesh(cluster, [4, 8]).axes;
    expect(shape(slow)).toEqual([1, 4, true]);
    expect(shape(fast)).toEqual([8, 1, false]);
  });

  it('a 2x16 mesh: axis 1 spans two nodes with 8 on each; axis 0 pairs GPUs 16 apart', () => {
    const [slow, fast] = logicalMesh(cluster, [2, 16]).axes;
    expect(shape(slow)).toEqual([1, 2, true]);
    expect(shape(fast)).toEqual([8, 2, true]);
  });

  it('an 8x4 mesh: axis 0 strides 4, two of its members on each of the 4 nodes', () => {
    const [slow, fast] = logicalMesh(cluster, [8, 4]).axes;
    expect(shape(slow)).toEqual([2, 4, true]);
    expect(shape(fast)).toEqual([4, 1, false]);
  });
});
