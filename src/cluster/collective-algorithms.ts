/**
 * What each way NCCL can run a collective costs over one group of devices (DESIGN.md §4.1), as a
 * latency and a time per byte, so that pricing a message is a multiply-add per algorithm and the
 * cheapest wins, as NCCL's own tuner picks (src/graph/tuning.cc, `ncclTopoTuneModel`: a latency
 * per algorithm plus bytes over its bandwidth).
 *
 * Byte conventions, as `collectiveSec` takes them: all-reduce the buffer each device holds;
 * all-gather and reduce-scatter the full (gathered) size; all-to-all the total the group exchanges.
 */
import type { CollectiveAlgorithm, CollectiveKind } from '../schema/vocabulary.ts';
import type { BusBandwidths } from './bus-bandwidth.ts';

/** One algorithm's price on one group: `latencySec + secPerByte · bytes`. */
export interface PricedAlgorithm {
  readonly algorithm: CollectiveAlgorithm;
  readonly latencySec: number;
  readonly secPerByte: number;
}

/**
 * An all-to-all's price with its two links apart, so that a sender that moves fewer bytes over one
 * of them (a node-deduplicating dispatch, collectives.ts `nodeDeduplicatedAllToAllSec`) can be
 * priced from the same figures: `secPerByte` is the larger of the two per-byte terms.
 */
export interface PricedAllToAll extends PricedAlgorithm {
  /** The peers' hops inside the node, (k − 1) of them, seconds. */
  readonly nvlinkLatencySec: number;
  /** One hop to a peer off the node, seconds. */
  readonly networkHopSec: number;
  readonly nvlinkSecPerByte: number;
  readonly networkSecPerByte: number;
}

export type AxisAlgorithms = Readonly<
  Record<Exclude<CollectiveKind, 'all-to-all'>, readonly PricedAlgorithm[]> & {
    'all-to-all': readonly PricedAllToAll[];
  }
>;

/** A group as NCCL lays it: `devicesPerNode` of its members on each of `nodes` nodes. */
export interface GroupShape {
  readonly size: number;
  readonly devicesPerNode: number;
  readonly nodes: number;
}

/** Per-step latencies of the group's two kinds of hop, seconds. */
export interface HopLatencies {
  readonly intraNodeSec: number;
  readonly interNodeSec: number;
  /** The slowest link's raw figures, for point-to-point halo sends. */
  readonly linkAlphaSec: number;
  readonly linkBetaSecPerByte: number;
}

/*
 * NCCL's tuning model gives tree all-reduce 0.9 of the ring's bus bandwidth, and its algorithm
 * bandwidth is half of that (the tree reduces up and broadcasts down): tuning.cc,
 * `busBw = std::min(busBw*.9, maxTreeBw)` and `ratio = .5` for non-ring algorithms.
 */
const TREE_BUS_SHARE = 0.9;

/**
 * The ring's bus bandwidth: inside a node the measured ring figure; across nodes the ring crosses
 * each node boundary once per channel and NCCL spreads its channels over the node's NICs, so the
 * group's `devicesPerNode` rails carry what leaves a node — unless NVLink is the slower side.
 */
function ringBusBytesPerSec(shape: GroupShape, bus: BusBandwidths): number {
  if (shape.nodes <= 1) return bus.intraRingBytesPerSec;
  return Math.min(bus.intraRingBytesPerSec, shape.devicesPerNode * bus.railBytesPerSec);
}

/**
 * Ring (NCCL's RING): all-reduce runs 2(n − 1) steps, all-gather and reduce-scatter n − 1; a chunk's
 * path crosses the network on 2(m − 1) (resp. m − 1) of them and NVLink on the rest (tuning.cc's
 * `nInterSteps`). `passes`: 2 for all-reduce, 1 for the others.
 */
function ring(shape: GroupShape, hops: HopLatencies, bus: BusBandwidths, passes: 1 | 2): PricedAlgorithm {
  const { size: n, nodes: m } = shape;
  const networkSteps = passes * (m - 1);
  const nvlinkSteps = passes * (n - 1) - networkSteps;
  return {
    algorithm: 'ring',
    latencySec: nvlinkSteps * hops.intraNodeSec + networkSteps * hops.interNodeSec,
    secPerByte: (passes * (n - 1)) / n / ringBusBytesPerSec(shape, bus),
  };
}

/**
 * Tree (NCCL's TREE, all-reduce across nodes): a chain inside each node and a double binary tree
 * over the nodes, up then down: latency 2·((k − 1)·α_nvlink + ⌊log2 m⌋·α_network) as tuning.cc
 * prices it; the whole buffer travels at half of 0.9 of the ring's bus bandwidth.
 */
function tree(shape: GroupShape, hops: HopLatencies, bus: BusBandwidths): PricedAlgorithm {
  const { devicesPerNode: k, nodes: m } = shape;
  return {
    algorithm: 'tree',
    latencySec: 2 * ((k - 1) * hops.intraNodeSec + Math.floor(Math.log2(m)) * hops.interNodeSec),
    secPerByte: 1 / (0.5 * TREE_BUS_SHARE * ringBusBytesPerSec(shape, bus)),
  };
}

/**
 * NVLS (NVLink SHARP, all-reduce inside one NVSwitch domain): each GPU writes its buffer into the
 * switch, which reduces it and multicasts the sum back — two hops whatever the group's size, at the
 * measured NVLS bus bandwidth. All-reduce only: for all-gather and reduce-scatter NVLS saves
 * traffic but not time, and NCCL keeps the ring there (NVIDIA/nccl issue #1506: NVLS all-gather
 * 300 GB/s against the ring's 350 on H100).
 */
function nvls(shape: GroupShape, hops: HopLatencies, nvlsBytesPerSec: number): PricedAlgorithm {
  const n = shape.size;
  return {
    algorithm: 'nvls',
    latencySec: 2 * hops.intraNodeSec,
    secPerByte: (2 * (n - 1)) / n / nvlsBytesPerSec,
  };
}

/**
 * Two levels for a group spanning nodes with k devices on each: reduce-scatter over the k devices of
 * a node (ring over NVLink), then the nodes' ring over each GPU's own rail carrying 1/k of the bytes,
 * then all-gather inside the node. All-reduce runs all three; reduce-scatter the first two,
 * all-gather the last two. The phases follow each other (separate collectives).
 */
function hierarchical(
  shape: GroupShape,
  hops: HopLatencies,
  bus: BusBandwidths,
  passes: 1 | 2,
): PricedAlgorithm {
  const { devicesPerNode: k, nodes: m } = shape;
  const nvlinkSecPerByte = (passes * (k - 1)) / k / bus.intraRingBytesPerSec;
  const networkSecPerByte = (passes * (m - 1)) / m / k / bus.railBytesPerSec;
  return {
    algorithm: 'hierarchical',
    latencySec: passes * ((k - 1) * hops.intraNodeSec + (m - 1) * hops.interNodeSec),
    secPerByte: nvlinkSecPerByte + networkSecPerByte,
  };
}

/**
 * All-to-all: each device keeps 1/n of its share and sends 1/n to each peer at once, one message
 * per peer. Peers in the node are reached over NVLink, the others over the device's own rail;
 * both run together, so the slower side sets the time.
 */
function allToAll(shape: GroupShape, hops: HopLatencies, bus: BusBandwidths): PricedAllToAll {
  const { size: n, devicesPerNode: k } = shape;
  const perPeerShare = 1 / (n * n);
  const nvlinkSecPerByte = ((k - 1) * perPeerShare) / bus.intraRingBytesPerSec;
  const networkSecPerByte = ((n - k) * perPeerShare) / bus.railBytesPerSec;
  const nvlinkLatencySec = (k - 1) * hops.intraNodeSec;
  return {
    algorithm: 'direct',
    latencySec: nvlinkLatencySec + (n - k) * hops.interNodeSec,
    secPerByte: Math.max(nvlinkSecPerByte, networkSecPerByte),
    nvlinkLatencySec,
    networkHopSec: hops.interNodeSec,
    nvlinkSecPerByte,
    networkSecPerByte,
  };
}

/** Every algorithm NCCL could run for each collective on this group, priced once per axis. */
export function priceAlgorithms(shape: GroupShape, hops: HopLatencies, bus: BusBandwidths): AxisAlgorithms {
  const spansNodes = shape.nodes > 1;
  const twoLevel = spansNodes && shape.devicesPerNode > 1;
  const allReduce = [ring(shape, hops, bus, 2)];
  if (spansNodes) allReduce.push(tree(shape, hops, bus));
  if (twoLevel) allReduce.push(hierarchical(shape, hops, bus, 2));
  if (!spansNodes && bus.intraNvlsBytesPerSec !== null)
    allReduce.push(nvls(shape, hops, bus.intraNvlsBytesPerSec));
  const halfReduction = twoLevel
    ? [ring(shape, hops, bus, 1), hierarchical(shape, hops, bus, 1)]
    : [ring(shape, hops, bus, 1)];
  return {
    'all-reduce': allReduce,
    'all-gather': halfReduction,
    'reduce-scatter': halfReduction,
    'all-to-all': [allToAll(shape, hops, bus)],
    'halo-exchange': [
      { algorithm: 'direct', latencySec: hops.linkAlphaSec, secPerByte: hops.linkBetaSecPerByte },
    ],
  };
}
