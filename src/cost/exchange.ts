/**
 * Data an op moves among the peers of an outer parallel group itself (DESIGN.md §4.2): attention's
 * keys and values among context-parallel peers, routed tokens among expert-parallel peers. Priced
 * per microbatch on the group's axis, forward and backward, from the bytes one device holds.
 */
import { SOLO_AXIS } from '../cluster/axis.ts';
import { collectiveSec, nodeDeduplicatedAllToAllSec, sendRecvSec } from '../cluster/collectives.ts';
import type { MeshAxis } from '../cluster/mesh.ts';
import type { Exchange } from '../schema/graph.ts';
import type { CollectiveKind, Phase } from '../schema/vocabulary.ts';

/** The outer groups an op may exchange over, as the stage's placement lays them. */
export interface OuterGroups {
  readonly cp: MeshAxis;
  readonly ep: MeshAxis;
}

/** No outer parallelism: size-1 groups move nothing. */
export const NO_OUTER_GROUPS: OuterGroups = {
  cp: SOLO_AXIS,
  ep: SOLO_AXIS,
};

/** One transfer among a group's peers (not a mesh axis's collective), for the plan's per-op report. */
export interface Transfer {
  readonly group: Exchange['group'];
  readonly phase: Phase;
  /** `send-recv`: the ring's P2P steps, all of them. */
  readonly kind: CollectiveKind | 'send-recv';
  readonly bytes: number;
  /** Its time, before any overlap. */
  readonly sec: number;
}

export interface ExchangeCost {
  /** Exposed seconds in the forward and the backward pass of one microbatch. */
  readonly forwardSec: number;
  readonly backwardSec: number;
  readonly transfers: readonly Transfer[];
}

/**
 * A node-deduplicating dispatch's sends over the network per copy an all-to-all sends there. With
 * `experts` spread evenly over `nodes` nodes and each token's `topK` distinct experts drawn uniformly
 * (the force-balanced routing of the published MoE benchmarks), a remote node holds none of a
 * token's experts with probability C(E − E/N, k) / C(E, k), so the token crosses to
 * (N − 1)(1 − that) nodes, where the all-to-all sends its k(N − 1)/N remote copies one by one.
 */
export function remoteSendsPerCopy(experts: number, topK: number, nodes: number): number {
  if (nodes <= 1) return 1;
  const elsewhere = experts - experts / nodes;
  let missed = 1;
  for (let i = 0; i < topK; i++) missed *= Math.max(0, elsewhere - i) / (experts - i);
  const nodesReached = (nodes - 1) * (1 - missed);
  return nodesReached / ((topK * (nodes - 1)) / nodes);
}

/**
 * `bytes`: what one device holds of the exchanged tensors. A ring (context parallelism's p2p) sends
 * the local keys and values cp − 1 times, each step hidden behind that step's share of the attention
 * (`computeSec` forward and backward); the backward pass sends them and their gradients. Ulysses'
 * all-to-alls and the all-gather (reduce-scatter backward) are not overlapped. A gather of what has
 * no gradient (`carriesGradient` false: HybridEP's routing maps) goes forward only.
 */
export function exchangeCost(
  exchange: Exchange,
  groups: OuterGroups,
  bytes: number,
  computeSec: { readonly forward: number; readonly backward: number },
  carriesGradient = true,
): ExchangeCost {
  const axis = groups[exchange.group];
  const n = axis.size;
  if (n <= 1 || bytes <= 0) return { forwardSec: 0, backwardSec: 0, transfers: [] };
  const { group } = exchange;
  if (exchange.kind === 'ring') {
    const step = sendRecvSec(axis.alphaSec, axis.betaSecPerByte, bytes);
    const backStep = sendRecvSec(axis.alphaSec, axis.betaSecPerByte, 2 * bytes);
    const exposed = (send: number, compute: number) => (n - 1) * Math.max(0, send - compute / n);
    return {
      forwardSec: exposed(step, computeSec.forward),
      backwardSec: exposed(backStep, computeSec.backward),
      transfers: [
        { group, phase: 'forward', kind: 'send-recv', bytes: (n - 1) * bytes, sec: (n - 1) * step },
        { group, phase: 'backward', kind: 'send-recv', bytes: (n - 1) * 2 * bytes, sec: (n - 1) * backStep },
      ],
    };
  }
  // The group's total: every peer's share (all-to-all and all-gather take the group's bytes).
  const total = bytes * n;
  if (exchange.kind === 'all-to-all') {
    const routed = exchange.nodeDeduplicated;
    const sec =
      routed === undefined
        ? collectiveSec('all-to-all', axis, total)
        : nodeDeduplicatedAllToAllSec(
            axis,
            total,
            remoteSendsPerCopy(routed.experts, routed.topK, axis.nodes),
          );
    return {
      forwardSec: sec,
      backwardSec: sec,
      transfers: [
        { group, phase: 'forward', kind: 'all-to-all', bytes: total, sec },
        { group, phase: 'backward', kind: 'all-to-all', bytes: total, sec },
      ],
    };
  }
  const gather = collectiveSec('all-gather', axis, total);
  const forward: Transfer = { group, phase: 'forward', kind: 'all-gather', bytes: total, sec: gather };
  // What carries no gradient (an index or a mask) is gathered forward and sent nowhere backward.
  if (!carriesGradient) return { forwardSec: gather, backwardSec: 0, transfers: [forward] };
  const scatter = collectiveSec('reduce-scatter', axis, total);
  return {
    forwardSec: gather,
    backwardSec: scatter,
    transfers: [forward, { group, phase: 'backward', kind: 'reduce-scatter', bytes: total, sec: scatter }],
  };
}
