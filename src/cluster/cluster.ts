import type { ClusterSpec, GpuSpec } from '../schema/cluster.ts';
import { InvalidInputError } from '../schema/errors.ts';
import { type BusBandwidths, busBandwidths } from './bus-bandwidth.ts';
import { findGpu, GPU_IDS } from './catalog.ts';

/** One kind of link as the cost model sees it: per-device bandwidth and per-hop latency. */
export interface Link {
  readonly bytesPerSec: number;
  readonly latencySec: number;
}

export interface Cluster {
  readonly gpu: GpuSpec;
  readonly nodes: number;
  readonly gpusPerNode: number;
  readonly devices: number;
  readonly intraNode: Link;
  readonly interNode: Link;
  /** What NCCL's collectives reach over those links (nccl-tests' bus bandwidths). */
  readonly bus: BusBandwidths;
}

/*
 * Default latency of one hop, i.e. one step of a ring: NCCL's tuning model charges 1.9 µs per ring
 * step over NVLink and 4.0 µs over the network with its LL128 protocol (src/graph/tuning.cc,
 * `hwLat`; 0.47/2.7 µs with LL for tiny messages, 3.4/9.6 µs with Simple for large ones, where
 * latency no longer matters). A ring all-reduce over n devices pays 2(n − 1) of them.
 */
const DEFAULT_INTRA_NODE_LATENCY_US = 1.9;
const DEFAULT_INTER_NODE_LATENCY_US = 4;
/** Inter-node bandwidth when the GPU is given explicitly and nothing else says: one 200 Gb/s NIC per GPU. */
const DEFAULT_INTER_NODE_GBPS = 25;

export function resolveCluster(spec: ClusterSpec): Cluster {
  let gpu: GpuSpec;
  let defaultInterNodeGBps = DEFAULT_INTER_NODE_GBPS;
  if (typeof spec.gpu === 'string') {
    const entry = findGpu(spec.gpu);
    if (entry === undefined) {
      throw new InvalidInputError(
        [{ path: 'gpu', message: `unknown GPU "${spec.gpu}"; known: ${GPU_IDS.join(', ')}` }],
        'cluster',
      );
    }
    gpu = entry.spec;
    defaultInterNodeGBps = entry.defaultInterNodeGBps;
  } else {
    gpu = spec.gpu;
  }
  if (spec.profile !== undefined) gpu = calibrated(gpu, spec);
  const intraNode: Link = {
    bytesPerSec: (spec.intraNodeGBps ?? gpu.nvlinkGBps) * 1e9,
    latencySec: (spec.intraNodeLatencyUs ?? DEFAULT_INTRA_NODE_LATENCY_US) * 1e-6,
  };
  const interNode: Link = {
    bytesPerSec: (spec.interNodeGBps ?? defaultInterNodeGBps) * 1e9,
    latencySec: (spec.interNodeLatencyUs ?? DEFAULT_INTER_NODE_LATENCY_US) * 1e-6,
  };
  return {
    gpu,
    nodes: spec.nodes,
    gpusPerNode: spec.gpusPerNode,
    devices: spec.nodes * spec.gpusPerNode,
    intraNode,
    interNode,
    bus: busBandwidths(gpu, intraNode.bytesPerSec, interNode.bytesPerSec),
  };
}

/** The GPU with a calibration profile's factors in place of its catalog efficiency. */
function calibrated(gpu: GpuSpec, spec: ClusterSpec): GpuSpec {
  const profile = spec.profile;
  if (typeof profile === 'string') {
    // Only the CLI (a file) or the API (a stored id) can resolve a reference; the planner cannot.
    throw new InvalidInputError(
      [{ path: 'profile', message: `profile "${profile}" was not loaded: give the profile itself` }],
      'cluster',
    );
  }
  if (profile === undefined) return gpu;
  const named = typeof spec.gpu === 'string' ? spec.gpu : gpu.name;
  if (profile.gpu.trim().toLowerCase() !== named.trim().toLowerCase()) {
    throw new InvalidInputError(
      [{ path: 'profile.gpu', message: `the profile calibrates ${profile.gpu}, this cluster runs ${named}` }],
      'cluster',
    );
  }
  return { ...gpu, efficiency: { ...gpu.efficiency, ...profile.factors } };
}
