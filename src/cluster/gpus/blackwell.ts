import type { CatalogGpu, GpuSpec } from '../../schema/cluster.ts';
import {
  BLACKWELL_ULTRA_TENSOR_FLOPS_PER_EXPONENTIAL,
  blackwellEfficiency,
  EIGHT_GIB,
  GiB,
  GTC25_NCCL_SLIDE,
  ML_ENGINEERING_NETWORK,
  SIXTEEN_GIB,
} from './common.ts';

/*
 * Per-GPU figures from NVIDIA's GB200 NVL72 product page, table "Individual Blackwell GPU
 * Specifications" (https://www.nvidia.com/en-us/data-center/gb200-nvl72/), whose columns are a GPU of
 * GB200 NVL72 and one of HGX B200. Its tensor figures are with 2:4 sparsity; the catalog holds half of
 * each (dense). GB200: FP4 20 PF, FP8 10 PF, FP16/BF16 5 PF, TF32 2.5 PF, FP32 80 TF, 186 GB HBM3E at
 * 8 TB/s. HGX B200: FP4 18 PF, FP8 9 PF, FP16/BF16 4.5 PF, TF32 2.2 PF (where 4.5 PF / 2 would be
 * 2.25), FP32 75 TF, 180 GB HBM3E at 7.7 TB/s. Both: fifth-generation NVLink at 1.8 TB/s per GPU,
 * both directions, so 900 per direction (DGX B200: 14.4 TB/s over 8 GPUs; GB200 NVL72: 130 TB/s over
 * 72).
 * NVIDIA publishes no SM count or clock for either. B200 has 148 SMs (two dies of 74 enabled), as
 * measured by Chips and Cheese, "Nvidia's B200: Keeping the CUDA Juggernaut Rolling" (2025). GB200's
 * GPU reports 152 (CUDA's multiProcessorCount on an "NVIDIA GB200", compute capability 10.0), as
 * public code records it: FlashInfer's MXFP8 × MXFP4 MoE kernels size their per-CTA statistics for
 * "GB200 has 152" persistent CTAs, FastVideo's Ulysses all-to-all tests replay a GB200's device
 * properties (multi_processor_count=152), and PyTorch Inductor kernels generated on such a GPU carry
 * the same count in their device properties.
 * Efficiency: Hopper's set, until a calibration fits Blackwell.
 */
const blackwell = {
  nvlinkGBps: 900,
  efficiency: blackwellEfficiency,
  // CUTLASS example 70's Blackwell GEMM (fp16 and fp8): a 256×128×64 tcgen05 MMA tile computed by a
  // pair of SMs (cluster 2×2×1), i.e. 128×128 outputs per SM.
  gemmTile: {
    m: 256,
    n: 128,
    k: 64,
    smsPerTile: 2,
    source:
      'CUTLASS examples/70_blackwell_gemm/70_blackwell_fp16_gemm.cu, MmaTileShape_MNK 256×128×64 with ' +
      'ClusterShape 2×2×1 (2-SM MMA) (NVIDIA/cutlass 7107b05)',
  },
  // Fifth-generation NVLink switches reduce in the network: NVIDIA's slide has NVLink5 SHARP bars.
  nvlinkSharp: true,
} satisfies Partial<GpuSpec>;

export const BLACKWELL_GPUS = {
  /*
   * DGX B200 user guide (https://docs.nvidia.com/dgx/dgxb200-user-guide/introduction-to-dgxb200.html):
   * 8 × B200 with 1,440 GB in total, two NVLink 5 switches with 14.4 TB/s aggregate, and for the
   * cluster network 8 × ConnectX-7 single-port cards at up to 400 Gb/s InfiniBand = 50 GB/s per GPU.
   */
  'B200-180GB': {
    spec: {
      name: 'B200-180GB',
      memoryBytes: 180 * GiB,
      peakTflops: { fp32: 75, tf32: 1100, bf16: 2250, fp16: 2250, fp8: 4500, nvfp4: 9000 },
      hbmGBps: 7700,
      ...blackwell,
      smCount: 148,
      allReduceBusBandwidth: [
        // nccl-tests at 8 GiB on one AWS p6-b200 node (8× B200, NVLink 5), NVLS off and on; NVIDIA's
        // GTC25 slide gives 700 and 850 for the same pair.
        {
          busGBps: 682.2,
          gpus: 8,
          nodes: 1,
          messageBytes: EIGHT_GIB,
          algorithm: 'ring',
          source: ML_ENGINEERING_NETWORK,
        },
        {
          busGBps: 838,
          gpus: 8,
          nodes: 1,
          messageBytes: EIGHT_GIB,
          algorithm: 'nvls',
          source: ML_ENGINEERING_NETWORK,
        },
        // 4 p6-b200 nodes, 8 × 400 Gb/s EFA each (the DGX B200's per-GPU 400 Gb/s, over AWS's fabric
        // rather than InfiniBand), at 16 GiB, with the book's all_reduce_bench.py (torch.distributed on
        // NCCL, within 2% of nccl-tests at large messages); NCCL's algorithm was chosen by AWS's tuner.
        { busGBps: 381.8, gpus: 32, nodes: 4, messageBytes: SIXTEEN_GIB, source: ML_ENGINEERING_NETWORK },
      ],
    },
    defaultInterNodeGBps: 50,
    source:
      'NVIDIA GB200 NVL72 product page (HGX B200 column); DGX B200 user guide; ' +
      'Chips and Cheese (SM count); CUTLASS example 70; stas00/ml-engineering (nccl-tests on p6-b200)',
  },
  /*
   * One GPU of a GB200 NVL72 rack: one NVLink domain of 72 GPUs, so a cluster of such racks is
   * `gpusPerNode: 72`. DGX GB200 user guide (https://docs.nvidia.com/dgx/dgxgb200-user-guide/hardware.html):
   * each compute tray holds 4 GPUs and 4 × ConnectX-7 single-port 400G OSFP NICs for the cluster
   * network = 50 GB/s per GPU (800 Gb/s ConnectX-8 is GB300's); the DGX SuperPOD GB200 reference
   * architecture's compute fabric is NDR 400 Gb/s InfiniBand. No all-reduce across racks is published.
   */
  'GB200-186GB': {
    spec: {
      name: 'GB200-186GB',
      memoryBytes: 186 * GiB,
      peakTflops: { fp32: 80, tf32: 1250, bf16: 2500, fp16: 2500, fp8: 5000, nvfp4: 10000 },
      hbmGBps: 8000,
      ...blackwell,
      smCount: 152,
      allReduceBusBandwidth: [
        // "NVLink (GB200 NVL72)" and "NVLink5 SHARP (GB200 NVL72)": 32 GPUs of one rack.
        { busGBps: 680, gpus: 32, nodes: 1, algorithm: 'ring', source: GTC25_NCCL_SLIDE },
        { busGBps: 850, gpus: 32, nodes: 1, algorithm: 'nvls', source: GTC25_NCCL_SLIDE },
      ],
    },
    defaultInterNodeGBps: 50,
    source:
      'NVIDIA GB200 NVL72 product page (GB200 NVL72 column); DGX GB200 user guide; DGX SuperPOD GB200 ' +
      'reference architecture; CUTLASS example 70; NVIDIA GTC25 S72583 (nccl-tests)',
  },
  /*
   * Blackwell Ultra. NVIDIA's HGX platform page (https://www.nvidia.com/en-us/data-center/hgx/) gives
   * HGX B300 the same 8-GPU tensor figures as HGX B200 — FP8 72 PF, FP16/BF16 36 PF, TF32 18 PF, all
   * with 2:4 sparsity — and 288 GB of HBM3e per GPU; its gains are FP4 (144 PF with sparsity, 108 PF
   * dense, against HGX B200's 144 and 72: 13.5 PF dense a GPU) and the attention's exponentials (twice
   * Blackwell's, which the entries state). So: B200's other dense peaks and HBM bandwidth, 288 GB.
   * 160 SMs (NVIDIA Technical Blog, "Inside NVIDIA Blackwell Ultra: The Chip Powering the AI Factory
   * Era", 2025: two dies, 160 SMs, 640 fifth-generation tensor cores). DGX B300 pairs each GPU with a
   * ConnectX-8 SuperNIC at 800 Gb/s = 100 GB/s (DGX B300 datasheet). No all-reduce is published.
   */
  'B300-288GB': {
    spec: {
      name: 'B300-288GB',
      memoryBytes: 288e9,
      peakTflops: { fp32: 75, tf32: 1100, bf16: 2250, fp16: 2250, fp8: 4500, nvfp4: 13500 },
      hbmGBps: 7700,
      ...blackwell,
      smCount: 160,
      exponentialsPerSec: 2250e12 / BLACKWELL_ULTRA_TENSOR_FLOPS_PER_EXPONENTIAL,
    },
    defaultInterNodeGBps: 100,
    source:
      'NVIDIA HGX platform page (HGX B300 column); NVIDIA Technical Blog "Inside NVIDIA Blackwell Ultra" ' +
      '(SM count); DGX B300 datasheet (ConnectX-8 800 Gb/s per GPU); CUTLASS example 70',
  },
  /*
   * One GPU of a GB300 NVL72 rack (https://www.nvidia.com/en-us/data-center/gb300-nvl72/): the rack's
   * FP8 720 PF, FP16/BF16 360 PF and TF32 180 PF (with sparsity) are GB200 NVL72's, so per GPU the
   * dense peaks are GB200's but FP4's: the rack's 1,080 PF dense (1,440 with sparsity) is 15 PF a GPU;
   * 288 GB of HBM3e per GPU at the rack's 576 TB/s over 72 = 8 TB/s; NVLink 5
   * at 130 TB/s over 72 GPUs, one domain (`gpusPerNode: 72`, as for GB200); 72 ConnectX-8 SuperNICs at
   * 800 Gb/s = 100 GB/s per GPU. The Blackwell Ultra die's 160 SMs, as B300's.
   */
  'GB300-288GB': {
    spec: {
      name: 'GB300-288GB',
      memoryBytes: 288e9,
      peakTflops: { fp32: 80, tf32: 1250, bf16: 2500, fp16: 2500, fp8: 5000, nvfp4: 15000 },
      hbmGBps: 8000,
      ...blackwell,
      smCount: 160,
      exponentialsPerSec: 2500e12 / BLACKWELL_ULTRA_TENSOR_FLOPS_PER_EXPONENTIAL,
    },
    defaultInterNodeGBps: 100,
    source:
      'NVIDIA GB300 NVL72 product page (rack figures over 72 GPUs); NVIDIA Technical Blog "Inside NVIDIA ' +
      'Blackwell Ultra" (SM count); CUTLASS example 70',
  },
} satisfies Record<string, CatalogGpu>;
