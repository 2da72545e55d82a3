import type { CatalogGpu, GpuSpec } from '../../schema/cluster.ts';
import { GiB, GTC25_NCCL_SLIDE, hopperEfficiency, ML_ENGINEERING_NETWORK, SIXTEEN_GIB } from './common.ts';

/*
 * NVIDIA H100 datasheet (SXM5): 989 TFLOP/s bf16/fp16 dense, 494 tf32, 67 fp32, 1,979 fp8; HBM3
 * 3,350 GB/s. NVIDIA H100 Tensor Core GPU Architecture whitepaper: H100 SXM5 has 132 SMs, and its
 * dense tensor peaks are computed at 1,830 MHz (132 SMs × 4,096 fp16 FLOP/clock × 1.83 GHz =
 * 989.4 TFLOP/s; the SM clock itself boosts to 1,980 MHz).
 * The tile is the one large training GEMMs run at (CUTLASS's cooperative kernel, cuBLAS's
 * warpgroupsize2x1x1 kernels); smaller GEMMs get 128×128×64 (CUTLASS example 49).
 */
const hopper = {
  peakTflops: { fp32: 67, tf32: 494, bf16: 989, fp16: 989, fp8: 1979 },
  efficiency: hopperEfficiency,
  smCount: 132,
  gemmTile: {
    m: 128,
    n: 256,
    k: 64,
    smsPerTile: 1,
    source:
      'CUTLASS kernel cutlass3x_sm90_tensorop_gemm_bf16_bf16_f32_bf16_bf16_128x256x64_1x1x1_0_tnn_align8_' +
      'warpspecialized_cooperative_epi_tma (CUTLASS CHANGELOG 3.9); ' +
      'cuBLAS sm90_xmma_gemm_*_tilesize128x256x64',
  },
} satisfies Partial<GpuSpec>;

/*
 * DGX H100 and DGX H200 (NVIDIA DGX BasePOD reference architecture): 8 GPUs on four third-generation
 * NVSwitch chips, which reduce in the network (NVLink SHARP, NCCL's NVLS); 8 × ConnectX-7 at 400 Gb/s
 * NDR InfiniBand = 50 GB/s per GPU. NVLink 4th gen: 900 GB/s per GPU, both directions.
 */
const hgxHopper = { ...hopper, boostClockMHz: 1830, nvlinkGBps: 450, nvlinkSharp: true } as const;

export const HOPPER_GPUS = {
  'H100-80GB': {
    spec: {
      name: 'H100-80GB',
      memoryBytes: 80 * GiB,
      hbmGBps: 3350,
      ...hgxHopper,
      allReduceBusBandwidth: [
        // "NVLink4 (H100)" and "NVLink4 SHARP (H100)", 8 GPUs.
        { busGBps: 370, gpus: 8, nodes: 1, algorithm: 'ring', source: GTC25_NCCL_SLIDE },
        { busGBps: 480, gpus: 8, nodes: 1, algorithm: 'nvls', source: GTC25_NCCL_SLIDE },
        // "NVL4 + 8x 400Gb RDMA (DGX H100)", 32 GPUs, algorithm not named (the 2024 slide printed 380);
        // "SHARP 8x 400Gb RDMA": NVLink SHARP inside nodes and InfiniBand SHARP across them, which NCCL
        // runs as its NVLS algorithm (NCCL 2.18.1 release notes).
        { busGBps: 370, gpus: 32, nodes: 4, source: GTC25_NCCL_SLIDE },
        { busGBps: 480, gpus: 32, nodes: 4, algorithm: 'nvls', source: GTC25_NCCL_SLIDE },
      ],
    },
    defaultInterNodeGBps: 50,
    source:
      'NVIDIA H100 Tensor Core GPU datasheet; NVIDIA H100 Tensor Core GPU Architecture whitepaper; ' +
      'DGX H100 system specs; CUTLASS 3.9 SM90 kernels; NVIDIA GTC25 S72583 (nccl-tests)',
  },
  // NVIDIA H200 datasheet (SXM): compute as H100 SXM; 141 GB HBM3e at 4,800 GB/s; NVLink 900 GB/s.
  // No all-reduce across DGX H200 nodes is published.
  'H200-141GB': {
    spec: {
      name: 'H200-141GB',
      memoryBytes: 141e9,
      hbmGBps: 4800,
      ...hgxHopper,
      allReduceBusBandwidth: [
        // nccl-tests all_reduce_perf -b 16G -g 8 on one 8× H200 node, NCCL_NVLS_ENABLE=0 and =1.
        {
          busGBps: 367.2,
          gpus: 8,
          nodes: 1,
          messageBytes: SIXTEEN_GIB,
          algorithm: 'ring',
          source: ML_ENGINEERING_NETWORK,
        },
        {
          busGBps: 480,
          gpus: 8,
          nodes: 1,
          messageBytes: SIXTEEN_GIB,
          algorithm: 'nvls',
          source: ML_ENGINEERING_NETWORK,
        },
      ],
    },
    defaultInterNodeGBps: 50,
    source:
      'NVIDIA H200 Tensor Core GPU datasheet; NVIDIA H100 Tensor Core GPU Architecture whitepaper; ' +
      'DGX H200 system specs; CUTLASS 3.9 SM90 kernels; stas00/ml-engineering (nccl-tests on 8× H200)',
  },
  /*
   * H800 SXM5, NVIDIA's H100 for the Chinese market. DeepSeek, "Insights into DeepSeek-V3: Scaling
   * Challenges and Reflections on Hardware for AI Architectures" (ISCA 2025, arXiv 2505.09343):
   * "based on the Hopper architecture, similar to the H100 GPU" with FP64 and NVLink cut, "the NVLink
   * bandwidth in H800 SXM nodes is reduced from 900 GB/s to 400 GB/s" (both directions, so 200 per
   * direction), and "each node is equipped with eight 400G Infiniband (IB) CX7 NICs" = 50 GB/s per GPU.
   * NVIDIA's own H800 datasheet is not reachable here: the dense peaks and HBM3 80 GB at 3,350 GB/s are
   * H100 SXM's, which DeepSeek's description and the measurements agree with (nvidia-smi 81,559 MiB
   * as on H100; FlashMLA's README: 3,000 GB/s and 660 TFLOP/s reached on H800 SXM5). 132 SMs: the
   * H800 count EPS-MoE (arXiv 2410.12247) schedules over. Not published: the clock its peaks are
   * computed at, whether NCCL runs NVLS on its NVSwitch, and any nccl-tests all-reduce figure.
   */
  'H800-80GB': {
    spec: { name: 'H800-80GB', memoryBytes: 80 * GiB, hbmGBps: 3350, nvlinkGBps: 200, ...hopper },
    defaultInterNodeGBps: 50,
    source:
      'DeepSeek, Insights into DeepSeek-V3 (ISCA 2025, arXiv 2505.09343) for NVLink 400 GB/s and 8 × 400G ' +
      'CX7 per node; compute and HBM as NVIDIA H100 SXM5 datasheet; DeepSeek FlashMLA README; ' +
      'EPS-MoE (arXiv 2410.12247); CUTLASS 3.9 SM90 kernels',
  },
} satisfies Record<string, CatalogGpu>;
