import type { CatalogGpu, GpuSpec } from '../../schema/cluster.ts';
import { GiB, GTC24_NCCL_SLIDE, VOLTA_GEMM_FORUM_POST, voltaEfficiency } from './common.ts';

/*
 * NVIDIA Tesla V100 SXM2 datasheet (2020): 125 TFLOP/s tensor fp16, 15.7 fp32, HBM2 900 GB/s,
 * NVLink 300 GB/s (both directions, so 150 per direction). No bf16 tensor cores: bf16 falls back to
 * the fp32 rate. NVIDIA Tesla V100 GPU Architecture whitepaper (2017), Table 1: V100 SXM2 has 80 SMs
 * and a 1,530 MHz boost clock (80 SMs × 1,024 fp16 FLOP/clock × 1.53 GHz = 125 TFLOP/s).
 * Node: DGX-1 with 4 × 100 Gb/s EDR InfiniBand for 8 GPUs = 6.25 GB/s per GPU; its NVLink is a
 * hybrid cube-mesh without NVSwitch, so no in-network reduction.
 */
const volta = {
  peakTflops: { fp32: 15.7, fp16: 125 },
  hbmGBps: 900,
  nvlinkGBps: 150,
  efficiency: voltaEfficiency,
  smCount: 80,
  boostClockMHz: 1530,
  gemmTile: {
    m: 128,
    n: 256,
    k: 32,
    smsPerTile: 1,
    source:
      'CUTLASS include/cutlass/gemm/device/default_gemm_configuration.h, ' +
      'DefaultGemmConfiguration<OpClassTensorOp, Sm70>::ThreadblockShape (NVIDIA/cutlass 7107b05)',
  },
  nvlinkSharp: false,
  // The slide's "NVLink2 (V100)" bar: 8 GPUs, no SHARP, so NCCL's ring. Across DGX-1 nodes NVIDIA
  // publishes no all-reduce figure.
  allReduceBusBandwidth: [{ busGBps: 122, gpus: 8, nodes: 1, algorithm: 'ring', source: GTC24_NCCL_SLIDE }],
} satisfies Omit<GpuSpec, 'name' | 'memoryBytes'>;

const source =
  'NVIDIA V100 Tensor Core GPU datasheet; NVIDIA Tesla V100 GPU Architecture whitepaper; ' +
  'DGX-1 system specs; CUTLASS default GEMM configuration (Sm70); NVIDIA GTC24 S62129 (nccl-tests); ' +
  `achievable cuBLAS FP16 GEMM share: ${VOLTA_GEMM_FORUM_POST}`;

export const VOLTA_GPUS = {
  'V100-16GB': {
    spec: { name: 'V100-16GB', memoryBytes: 16 * GiB, ...volta },
    defaultInterNodeGBps: 6.25,
    source,
  },
  'V100-32GB': {
    spec: { name: 'V100-32GB', memoryBytes: 32 * GiB, ...volta },
    defaultInterNodeGBps: 6.25,
    source,
  },
} satisfies Record<string, CatalogGpu>;
