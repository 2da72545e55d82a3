import type { CollectiveAlgorithm, CollectiveKind } from '../schema/vocabulary.ts';
import type { MeshAxis } from './axis.ts';

/**
 * A collective on one group as NCCL runs it (DESIGN.md §4.1): the cheapest of the algorithms NCCL
 * could pick there (./collective-algorithms.ts), as its tuner picks by size. A size-1 group
 * communicates nothing.
 * bytes: for all-reduce the buffer each device holds; for all-gather and reduce-scatter the full
 * (gathered) size; for all-to-all the total the group exchanges; for a halo exchange what one device
 * sends to its two neighbours together (they share its link).
 */
export function collectiveSec(kind: CollectiveKind, axis: MeshAxis, bytes: number): number {
  if (axis.size <= 1 || bytes <= 0) return 0;
  // A loop, not map/reduce: this runs for every op × strategy × mesh and must not allocate.
  let best = Number.POSITIVE_INFINITY;
  for (const priced of axis.algorithms[kind]) {
    const sec = priced.latencySec + priced.secPerByte * bytes;
    if (sec < best) best = sec;
  }
  return best;
}

/** The algorithm `collectiveSec` prices, for reports and tests; undefined where nothing moves. */
export function chosenAlgorithm(
  kind: CollectiveKind,
  axis: MeshAxis,
  bytes: number,
): CollectiveAlgorithm | undefined {
  if (axis.size <= 1 || bytes <= 0) return undefined;
  const best = collectiveSec(kind, axis, bytes);
  return axis.algorithms[kind].find((p) => p.latencySec + p.secPerByte * bytes === best)?.algorithm;
}

/** The time of one named algorithm, as if NCCL were told to run it (`NCCL_ALGO`); undefined where it cannot. */
export function algorithmSec(
  kind: CollectiveKind,
  axis: MeshAxis,
  algorithm: CollectiveAlgorithm,
  bytes: number,
): number | undefined {
  const priced = axis.algorithms[kind].find((p) => p.algorithm === algorithm);
  return priced === undefined ? undefined : priced.latencySec + priced.secPerByte * bytes;
}

/**
 * An all-to-all of routed copies whose sender crosses the network once for each remote node its
 * copies go to and lets that node's NVLink hand them on (DeepEP's and HybridEP's dispatch and
 * combine): `networkShare` of the copies' network bytes cross it, over one RDMA peer a remote node;
 * what travels inside the node is as the all-to-all's. `bytes`: the group's total, as for
 * `collectiveSec('all-to-all', …)`, which it equals inside one node.
 */
export function nodeDeduplicatedAllToAllSec(axis: MeshAxis, bytes: number, networkShare: number): number {
  if (axis.size <= 1 || bytes <= 0) return 0;
  const direct = axis.algorithms['all-to-all'][0];
  if (direct === undefined || axis.nodes <= 1) return collectiveSec('all-to-all', axis, bytes);
  return (
    direct.nvlinkLatencySec +
    (axis.nodes - 1) * direct.networkHopSec +
    bytes * Math.max(direct.nvlinkSecPerByte, networkShare * direct.networkSecPerByte)
  );
}

/** Point-to-point transfer between pipeline stages. */
export function sendRecvSec(alphaSec: number, betaSecPerByte: number, bytes: number): number {
  return bytes <= 0 ? 0 : alphaSec + betaSecPerByte * bytes;
}
