import type { CatalogGpu } from '../schema/cluster.ts';

const GiB = 2 ** 30;

/*
 * Calibration (DESIGN.md §4): `efficiency` holds the only tuned figures, one set per GPU
 * generation, never per run. memory 0.8 is a typical streaming-kernel share of HBM bandwidth.
 * matmul was fitted on the 19 published runs of ../shared/reference/published-runs.json
 * (bench/fidelity.ts; grid over 0.66–0.78): A100 0.72 (SC'21, 10 runs) and H100 0.70 (Megatron
 * README, 9 runs); tpOverlap 0.5 (share of tensor-parallel collectives Transformer Engine's
 * overlap hides, only the H100 runs enable it). V100 has no published run here: it keeps 0.75.
 */
const voltaEfficiency = { matmul: 0.75, memory: 0.8, tpOverlap: 0.5 } as const;
const ampereEfficiency = { matmul: 0.72, memory: 0.8, tpOverlap: 0.5 } as const;
const hopperEfficiency = { matmul: 0.7, memory: 0.8, tpOverlap: 0.5 } as const;

export const GPU_CATALOG: Readonly<Record<string, CatalogGpu>> = {
  // NVIDIA Tesla V100 SXM2 datasheet (2020): 125 TFLOP/s tensor fp16, 15.7 fp32, HBM2 900 GB/s,
  // NVLink 300 GB/s (both directions). No bf16 tensor cores: bf16 falls back to the fp32 rate.
  // Node: DGX-1 with 4 × 100 Gb/s EDR InfiniBand for 8 GPUs = 6.25 GB/s per GPU.
  'V100-16GB': {
    spec: {
      name: 'V100-16GB',
      memoryBytes: 16 * GiB,
      peakTflops: { fp32: 15.7, fp16: 125 },
      hbmGBps: 900,
      nvlinkGBps: 150,
      efficiency: voltaEfficiency,
    },
    defaultInterNodeGBps: 6.25,
    source: 'NVIDIA V100 Tensor Core GPU datasheet; DGX-1 system specs',
  },
  'V100-32GB': {
    spec: {
      name: 'V100-32GB',
      memoryBytes: 32 * GiB,
      peakTflops: { fp32: 15.7, fp16: 125 },
      hbmGBps: 900,
      nvlinkGBps: 150,
      efficiency: voltaEfficiency,
    },
    defaultInterNodeGBps: 6.25,
    source: 'NVIDIA V100 Tensor Core GPU datasheet; DGX-1 system specs',
  },
  // NVIDIA A100 datasheet (SXM): 312 TFLOP/s bf16/fp16 dense, 156 tf32, 19.5 fp32; HBM2 1,555 GB/s
  // (40GB) and HBM2e 2,039 GB/s (80GB); NVLink 3rd gen 600 GB/s (both directions).
  // Node: DGX A100 with 8 × 200 Gb/s HDR InfiniBand = 25 GB/s per GPU.
  'A100-40GB': {
    spec: {
      name: 'A100-40GB',
      memoryBytes: 40 * GiB,
      peakTflops: { fp32: 19.5, tf32: 156, bf16: 312, fp16: 312 },
      hbmGBps: 1555,
      nvlinkGBps: 300,
      efficiency: ampereEfficiency,
    },
    defaultInterNodeGBps: 25,
    source: 'NVIDIA A100 Tensor Core GPU datasheet; DGX A100 system specs',
  },
  'A100-80GB': {
    spec: {
      name: 'A100-80GB',
      memoryBytes: 80 * GiB,
      peakTflops: { fp32: 19.5, tf32: 156, bf16: 312, fp16: 312 },
      hbmGBps: 2039,
      nvlinkGBps: 300,
      efficiency: ampereEfficiency,
    },
    defaultInterNodeGBps: 25,
    source: 'NVIDIA A100 Tensor Core GPU datasheet; DGX A100 system specs',
  },
  // NVIDIA H100 datasheet (SXM5): 989 TFLOP/s bf16/fp16 dense, 494 tf32, 67 fp32, 1,979 fp8;
  // HBM3 3,350 GB/s; NVLink 4th gen 900 GB/s (both directions).
  // Node: DGX H100 with 8 × 400 Gb/s NDR InfiniBand = 50 GB/s per GPU.
  'H100-80GB': {
    spec: {
      name: 'H100-80GB',
      memoryBytes: 80 * GiB,
      peakTflops: { fp32: 67, tf32: 494, bf16: 989, fp16: 989, fp8: 1979 },
      hbmGBps: 3350,
      nvlinkGBps: 450,
      efficiency: hopperEfficiency,
    },
    defaultInterNodeGBps: 50,
    source: 'NVIDIA H100 Tensor Core GPU datasheet; DGX H100 system specs',
  },
  // NVIDIA H200 datasheet (SXM): compute as H100 SXM; 141 GB HBM3e at 4,800 GB/s; NVLink 900 GB/s.
  // Node: DGX H200 with 8 × 400 Gb/s NDR InfiniBand = 50 GB/s per GPU.
  'H200-141GB': {
    spec: {
      name: 'H200-141GB',
      memoryBytes: 141e9,
      peakTflops: { fp32: 67, tf32: 494, bf16: 989, fp16: 989, fp8: 1979 },
      hbmGBps: 4800,
      nvlinkGBps: 450,
      efficiency: hopperEfficiency,
    },
    defaultInterNodeGBps: 50,
    source: 'NVIDIA H200 Tensor Core GPU datasheet; DGX H200 system specs',
  },
};

export const GPU_IDS: readonly string[] = Object.keys(GPU_CATALOG);

/** Case-insensitive catalog look-up; undefined when the id is unknown. */
export function findGpu(id: string): CatalogGpu | undefined {
  const wanted = id.trim().toLowerCase();
  const key = GPU_IDS.find((k) => k.toLowerCase() === wanted);
  return key === undefined ? undefined : GPU_CATALOG[key];
}
