import type { CatalogGpu } from '../../schema/cluster.ts';
import { cdna3Efficiency, GiB } from './common.ts';

/*
 * AMD Instinct MI300X (CDNA 3, OAM). AMD's product page
 * (https://www.amd.com/en/products/accelerators/instinct/mi300/mi300x.html) and its footnote MI300-17:
 * dense peaks 653.7 TFLOP/s TF32, 1,307.4 FP16 and BF16, 2,614.9 FP8 (twice each with structured
 * sparsity), 163.4 FP32 (vector and matrix alike); 192 GB HBM3 at 5.3 TB/s (footnote MI300-05A: 8,192
 * bits × 5.2 Gbps / 8 = 5.325 TB/s); 304 compute units; 2,100 MHz peak engine clock
 * (304 CUs × 2,048 FP16 FLOP/clock × 2.1 GHz = 1,307.4 TFLOP/s, ROCm's "MI300 series
 * microarchitecture" table). Infinity Fabric: AMD gives 128 GB/s peak per link; in the 8-GPU
 * platform each GPU uses 7 links, one to each peer (ROCm MI300 microarchitecture, node level), 896 GB/s
 * in all; AMD's ROCm blog "Understanding RCCL Bandwidth and xGMI Performance on AMD Instinct MI300X"
 * (2025) rates each link 64 GB/s per direction, so 7 × 64 = 448 GB/s per direction. Unlike NVLink
 * through a switch, one peer gets only its own link's 64: the 448 is what a collective over all 8
 * GPUs can use.
 * Node: the AMD Instinct platform ships no network cards; the usual cloud node, Azure ND MI300X v5,
 * has 8 × 400 Gb/s NDR InfiniBand = 50 GB/s per GPU
 * (https://learn.microsoft.com/azure/virtual-machines/sizes/gpu-accelerated/nd-mi300x-v5-series).
 * Not published: the tile hipBLASLt's kernels default to on gfx942 (its kernels are chosen per shape),
 * and any rccl-tests all-reduce figure for the platform. No switch, so no in-network reduction.
 */
export const CDNA3_GPUS = {
  'MI300X-192GB': {
    spec: {
      name: 'MI300X-192GB',
      memoryBytes: 192 * GiB,
      peakTflops: { fp32: 163.4, tf32: 653.7, bf16: 1307.4, fp16: 1307.4, fp8: 2614.9 },
      hbmGBps: 5300,
      nvlinkGBps: 448,
      efficiency: cdna3Efficiency,
      smCount: 304,
      boostClockMHz: 2100,
      nvlinkSharp: false,
    },
    defaultInterNodeGBps: 50,
    source:
      'AMD Instinct MI300X product page and footnotes MI300-05A, MI300-17; ROCm docs, MI300 series ' +
      'microarchitecture; AMD ROCm blog on RCCL and xGMI (2025); Azure ND MI300X v5 size page',
  },
} satisfies Record<string, CatalogGpu>;
