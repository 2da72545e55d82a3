import type { CatalogGpu, GpuSpec } from '../../schema/cluster.ts';
import { ampereEfficiency, GiB, GTC25_NCCL_SLIDE } from './common.ts';

/*
 * NVIDIA A100 datasheet (SXM): 312 TFLOP/s bf16/fp16 dense, 156 tf32, 19.5 fp32; HBM2 1,555 GB/s
 * (40GB) and HBM2e 2,039 GB/s (80GB); NVLink 3rd gen 600 GB/s (both directions, so 300 per
 * direction). NVIDIA A100 Tensor Core GPU Architecture whitepaper (2020): A100 SXM4 has 108 SMs and
 * a 1,410 MHz boost clock (108 SMs × 2,048 fp16 FLOP/clock × 1.41 GHz = 312 TFLOP/s).
 * Node: DGX A100 with 8 × 200 Gb/s HDR InfiniBand = 25 GB/s per GPU; its second-generation NVSwitch
 * does not reduce in the network (NVLink SHARP came with the third generation, in HGX H100).
 */
const ampere = {
  peakTflops: { fp32: 19.5, tf32: 156, bf16: 312, fp16: 312 },
  nvlinkGBps: 300,
  efficiency: ampereEfficiency,
  smCount: 108,
  boostClockMHz: 1410,
  gemmTile: {
    m: 128,
    n: 256,
    k: 64,
    smsPerTile: 1,
    source:
      'CUTLASS include/cutlass/gemm/device/default_gemm_configuration.h, ' +
      'DefaultGemmConfiguration<OpClassTensorOp, Sm80> (16-bit operands)::ThreadblockShape ' +
      '(NVIDIA/cutlass 7107b05)',
  },
  nvlinkSharp: false,
  allReduceBusBandwidth: [
    // "NVLink3 (A100)", 8 GPUs: no SHARP, so NCCL's ring.
    { busGBps: 232, gpus: 8, nodes: 1, algorithm: 'ring', source: GTC25_NCCL_SLIDE },
    // "NVL3 + 8x 200Gb RDMA (DGX A100)", 32 GPUs; the slide does not name the algorithm.
    { busGBps: 192, gpus: 32, nodes: 4, source: GTC25_NCCL_SLIDE },
  ],
} satisfies Omit<GpuSpec, 'name' | 'memoryBytes' | 'hbmGBps'>;

const source =
  'NVIDIA A100 Tensor Core GPU datasheet; NVIDIA A100 Tensor Core GPU Architecture whitepaper; ' +
  'DGX A100 system specs; CUTLASS default GEMM configuration (Sm80); NVIDIA GTC25 S72583 (nccl-tests)';

export const AMPERE_GPUS = {
  'A100-40GB': {
    spec: { name: 'A100-40GB', memoryBytes: 40 * GiB, hbmGBps: 1555, ...ampere },
    defaultInterNodeGBps: 25,
    source,
  },
  'A100-80GB': {
    spec: { name: 'A100-80GB', memoryBytes: 80 * GiB, hbmGBps: 2039, ...ampere },
    defaultInterNodeGBps: 25,
    source,
  },
} satisfies Record<string, CatalogGpu>;
