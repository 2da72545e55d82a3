/**
 * The bandwidths NCCL's collectives reach on a cluster (DESIGN.md §4.1), as nccl-tests reports them:
 * bus bandwidth, the algorithm bandwidth (bytes / time) times the share of the buffer each device
 * must move — 2(n − 1)/n for all-reduce, (n − 1)/n for all-gather and reduce-scatter (nccl-tests
 * doc/PERFORMANCE.md). A ring's time is therefore that share of the bytes over the bus bandwidth.
 */
import type { AllReduceBusBandwidth, GpuSpec, NcclAlgorithm } from '../schema/cluster.ts';
import { GPU_CATALOG } from './catalog.ts';

export interface BusBandwidths {
  /** A ring's bus bandwidth inside one NVLink domain, bytes/s. */
  readonly intraRingBytesPerSec: number;
  /** NVLS all-reduce's bus bandwidth inside one NVLink domain; null where the switch cannot reduce. */
  readonly intraNvlsBytesPerSec: number | null;
  /** What each GPU's own network rail carries in NCCL's hands, bytes/s. */
  readonly railBytesPerSec: number;
}

/** The catalog's figure for `algorithm` inside one node; a ring figure may leave its algorithm unnamed. */
function intraNodeFigure(gpu: GpuSpec, algorithm: NcclAlgorithm): AllReduceBusBandwidth | undefined {
  return gpu.allReduceBusBandwidth?.find(
    (f) =>
      f.nodes === 1 && (f.algorithm === algorithm || (algorithm === 'ring' && f.algorithm === undefined)),
  );
}

/** Bus bandwidth over NVLink bandwidth, as the GPU's own published figure shows it. */
function ownShare(gpu: GpuSpec, algorithm: NcclAlgorithm): number | undefined {
  const figure = intraNodeFigure(gpu, algorithm);
  return figure === undefined ? undefined : figure.busGBps / gpu.nvlinkGBps;
}

/*
 * A GPU without a published figure (MI300X, a GPU described in the request) gets the mean share the
 * catalog's published figures reach: 0.76–0.82 for rings on V100 to GB200, 0.93–1.07 for NVLS (the
 * switch reduces, so each GPU moves less than a ring's bytes and the bus figure can pass the link's).
 */
function meanCatalogShare(algorithm: NcclAlgorithm): number {
  const shares = Object.values(GPU_CATALOG).flatMap(({ spec }) => {
    const share = ownShare(spec, algorithm);
    return share === undefined ? [] : [share];
  });
  return shares.reduce((sum, s) => sum + s, 0) / shares.length;
}

const MEAN_RING_SHARE = meanCatalogShare('ring');
const MEAN_NVLS_SHARE = meanCatalogShare('nvls');

/**
 * Scales the GPU's published share to the links the cluster really has, so a request that names
 * other NVLink or network bandwidths moves the bus bandwidths with them.
 */
export function busBandwidths(
  gpu: GpuSpec,
  intraNodeBytesPerSec: number,
  interNodeBytesPerSec: number,
): BusBandwidths {
  const ringShare = ownShare(gpu, 'ring') ?? MEAN_RING_SHARE;
  const nvlsShare = gpu.nvlinkSharp === true ? (ownShare(gpu, 'nvls') ?? MEAN_NVLS_SHARE) : null;
  return {
    intraRingBytesPerSec: ringShare * intraNodeBytesPerSec,
    intraNvlsBytesPerSec: nvlsShare === null ? null : nvlsShare * intraNodeBytesPerSec,
    railBytesPerSec: gpu.efficiency.network * interNodeBytesPerSec,
  };
}
