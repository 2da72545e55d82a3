import { describe, expect, it } from 'vitest';
import { groupAxis } from '../../src/cluster/axis.ts';
import { resolveCluster } from '../../src/cluster/cluster.ts';
import { collectiveSec } from '../../src/cluster/collectives.ts';
import { exchangeCost, remoteSendsPerCopy } from '../../src/cost/exchange.ts';
import { estimate } from '../../src/planner/estimate.ts';
import { Exchange } from '../../src/schema/graph.ts';
import { ClusterSpec, type Plan, PlanRequest } from '../../src/schema/index.ts';
import { LLAMA3_8B } from '../support/models.ts';

/*
 * Oracles: brute force over every choice of a token's experts for the share of remote sends a
 * node-deduplicating dispatch makes (DeepEP's and HybridEP's kernels send a token to a remote node
 * once, NCCL's all-to-all once per copy), and the dispatcher's own rule for the priced exchange: the
 * flex dispatcher moves the all-to-all's network bytes times that share, the same NVLink bytes.
 */

/** Every k-subset of 0..n−1. */
function* subsets(n: number, k: number, from = 0): Generator<number[]> {
  if (k === 0) {
    yield [];
    return;
  }
  for (let i = from; i <= n - k; i++) for (const rest of subsets(n, k - 1, i + 1)) yield [i, ...rest];
}

/** Mean remote nodes a token on node 0 reaches, over every choice, per remote copy of the all-to-all. */
function bruteForceShare(experts: number, topK: number, nodes: number): number {
  const perNode = experts / nodes;
  let choices = 0;
  let reached = 0;
  for (const picked of subsets(experts, topK)) {
    choices++;
    reached += new Set(picked.map((e) => Math.floor(e / perNode)).filter((node) => node !== 0)).size;
  }
  const remoteCopies = (topK * (nodes - 1)) / nodes;
  return reached / choices / remoteCopies;
}

describe('remote sends of a node-deduplicating dispatch', () => {
  const cases: [number, number, number][] = [
    [8, 2, 2],
    [8, 3, 2],
    [8, 4, 2],
    [12, 2, 3],
    [12, 3, 3],
    [16, 3, 4],
    [16, 5, 4],
  ];
  it.each(cases)('%i experts, top-%i over %i nodes: the brute-force mean', (experts, topK, nodes) => {
    expect(remoteSendsPerCopy(experts, topK, nodes)).toBeCloseTo(bruteForceShare(experts, topK, nodes), 12);
  });

  it('top-1 routing has nothing to deduplicate; one node sends nothing over the network', () => {
    expect(remoteSendsPerCopy(128, 1, 2)).toBeCloseTo(1, 12);
    expect(remoteSendsPerCopy(64, 6, 1)).toBe(1);
  });

  it('a token picking every expert crosses to each remote node once: N/E of its copies', () => {
    expect(remoteSendsPerCopy(8, 8, 4)).toBeCloseTo(4 / 8, 12);
  });

  it("Qwen3-30B's 128 experts, top-8, over 2 nodes: about one send where the all-to-all makes four", () => {
    // A remote node holds none of 8 experts drawn from 128 with probability C(64, 8)/C(128, 8).
    let missed = 1;
    for (let i = 0; i < 8; i++) missed *= (64 - i) / (128 - i);
    expect(remoteSendsPerCopy(128, 8, 2)).toBeCloseTo((1 - missed) / 4, 12);
  });
});

describe('the exchange field', () => {
  it('belongs to an expert-parallel all-to-all, and a token picks at most the experts there are', () => {
    const routed = { group: 'ep', kind: 'all-to-all', nodeDeduplicated: { experts: 64, topK: 6 } } as const;
    expect(Exchange.safeParse(routed).success).toBe(true);
    const ring = Exchange.safeParse({ ...routed, group: 'cp', kind: 'ring' });
    expect(ring.success).toBe(false);
    expect(ring.error?.issues[0]?.path).toEqual(['nodeDeduplicated']);
    const tooMany = Exchange.safeParse({ ...routed, nodeDeduplicated: { experts: 4, topK: 6 } });
    expect(tooMany.error?.issues[0]?.path).toEqual(['nodeDeduplicated', 'topK']);
  });
});

describe('an exchange with no gradient', () => {
  it('is gathered forward and sends nothing back (a routing map); a float one is reduce-scattered', () => {
    const cluster = resolveCluster(ClusterSpec.parse({ gpu: 'H100-80GB', nodes: 2, gpusPerNode: 8 }));
    const ep = groupAxis(cluster, 16, 1, true);
    const groups = { cp: groupAxis(cluster, 1, 1, false), ep };
    const gather: Exchange = { group: 'ep', kind: 'all-gather', operands: [], output: true };
    const mask = exchangeCost(gather, groups, 2 ** 20, { forward: 0, backward: 0 }, false);
    expect(mask.forwardSec).toBeCloseTo(collectiveSec('all-gather', ep, 16 * 2 ** 20), 15);
    expect(mask.backwardSec).toBe(0);
    expect(mask.transfers.map((t) => t.phase)).toEqual(['forward']);
    const floats = exchangeCost(gather, groups, 2 ** 20, { forward: 0, backward: 0 });
    expect(floats.backwardSec).toBeCloseTo(collectiveSec('reduce-scatter', ep, 16 * 2 ** 20), 15);
  });
});

/** A Qwen3-30B-like MoE block (128 experts, top-8) on `nodes` × 8 H100, ep over all of them. */
async function priced(dispatcher: 'alltoall' | 'flex', nodes: number): Promise<Plan> {
  const gpus = 8 * nodes;
  const plan = await estimate(
    PlanRequest.parse({
      model: {
        ...LLAMA3_8B,
        layers: 2,
        hidden: 2048,
        vocab: 32000,
        seqLen: 8192,
        // Weighted at the combine, so the all-to-all dispatcher sends no router weights of their own.
        moe: { experts: 128, topK: 8, ffnHidden: 768, dropless: true, dispatcher, routerWeights: 'combine' },
      },
      cluster: { gpu: 'H100-80GB', nodes, gpusPerNode: 8 },
      training: { globalBatch: gpus, precision: 'bf16', optimizer: 'adam' },
      parallel: { tp: 1, pp: 1, dp: gpus, ep: gpus, microBatch: 1 },
    }),
  );
  expect(plan.status).toBe('optimal');
  return plan;
}

/** The step's expert-parallel exchange: dispatch and combine, forward and backward, and flex's gathers. */
function epCommSec(plan: Plan): number {
  return plan.breakdown!.epCommSec;
}

/**
 * HybridEP's routing maps, a byte per token and expert, all-gathered over the 8·nodes ranks in each
 * of the model's two MoE layers, forward only: by hand on the same group.
 */
function routingMapGathersSec(nodes: number): number {
  const cluster = resolveCluster(ClusterSpec.parse({ gpu: 'H100-80GB', nodes, gpusPerNode: 8 }));
  const ranks = 8 * nodes;
  const axis = groupAxis(cluster, ranks, 1, nodes > 1);
  return 2 * collectiveSec('all-gather', axis, 8192 * 128 * ranks);
}

describe('the flex dispatcher prices its exchange node-deduplicated', () => {
  it('inside one node it moves what the all-to-all moves', async () => {
    const flex = epCommSec(await priced('flex', 1)) - routingMapGathersSec(1);
    expect(flex).toBeGreaterThan(0);
    expect(flex).toBeCloseTo(epCommSec(await priced('alltoall', 1)), 12);
  });

  it('across two nodes its network time is the all-to-all’s times the share of remote sends', async () => {
    const flex = epCommSec(await priced('flex', 2)) - routingMapGathersSec(2);
    const alltoall = epCommSec(await priced('alltoall', 2));
    // Network-bound either way at 8k tokens × 8 copies × 4 KiB: latency is under 0.1% of either.
    expect(flex / alltoall).toBeCloseTo(remoteSendsPerCopy(128, 8, 2), 2);
    expect(flex).toBeLessThan(alltoall / 3.9);
  });
});
