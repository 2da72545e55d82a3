/**
 * A group of devices that talk to each other — one axis of a logical mesh, or an outer parallel
 * group around a stage — with every collective's algorithms priced once, when the group is laid
 * out, so the hot path (op × strategy × mesh) only multiplies and compares.
 */

import type { Cluster } from './cluster.ts';
import { type AxisAlgorithms, priceAlgorithms } from './collective-algorithms.ts';

export interface MeshAxis {
  readonly size: number;
  /** Per-hop latency of the slowest link the group's members cross, seconds. */
  readonly alphaSec: number;
  /** 1 / the bandwidth each device gets on that link (point-to-point sends), s/byte. */
  readonly betaSecPerByte: number;
  readonly spansNodes: boolean;
  /** Members of the group inside one node (NVLink domain); `size` when the group stays in one. */
  readonly devicesPerNode: number;
  /** Nodes the group spans. */
  readonly nodes: number;
  readonly algorithms: AxisAlgorithms;
}

/*
 * Members are `strideDevices` apart on node-major device numbers. Strided at least a node apart,
 * each sits on its own node; otherwise they fill nodes evenly, as the power-of-two meshes and
 * Megatron's rank order lay them.
 */
function membersPerNode(
  size: number,
  strideDevices: number,
  gpusPerNode: number,
  spansNodes: boolean,
): number {
  if (!spansNodes) return size;
  if (strideDevices >= gpusPerNode) return 1;
  const nodes = Math.max(2, Math.ceil((size * strideDevices) / gpusPerNode));
  return Math.ceil(size / nodes);
}

/** The group of `size` members `strideDevices` apart; `spansNodes` as the caller's layout decides. */
export function groupAxis(
  cluster: Cluster,
  size: number,
  strideDevices: number,
  spansNodes: boolean,
): MeshAxis {
  const devicesPerNode = membersPerNode(size, strideDevices, cluster.gpusPerNode, spansNodes);
  const nodes = Math.ceil(size / devicesPerNode);
  const link = spansNodes ? cluster.interNode : cluster.intraNode;
  const algorithms = priceAlgorithms(
    { size, devicesPerNode, nodes },
    {
      intraNodeSec: cluster.intraNode.latencySec,
      interNodeSec: cluster.interNode.latencySec,
      linkAlphaSec: link.latencySec,
      linkBetaSecPerByte: 1 / link.bytesPerSec,
    },
    cluster.bus,
  );
  return {
    size,
    alphaSec: link.latencySec,
    betaSecPerByte: 1 / link.bytesPerSec,
    spansNodes,
    devicesPerNode,
    nodes,
    algorithms,
  };
}

const NOTHING: AxisAlgorithms = {
  'all-reduce': [],
  'all-gather': [],
  'reduce-scatter': [],
  'all-to-all': [],
  'halo-exchange': [],
};

/** A group of one device: it moves nothing. */
export const SOLO_AXIS: MeshAxis = {
  size: 1,
  alphaSec: 0,
  betaSecPerByte: 0,
  spansNodes: false,
  devicesPerNode: 1,
  nodes: 1,
  algorithms: NOTHING,
};
