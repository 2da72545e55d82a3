/*
 * What the catalog's generation files share: the unit the vendors' "GB" of HBM stands for, the
 * calibration knobs, and the talks whose nccl-tests figures several generations cite.
 */

/**
 * Vendors' "80 GB" of HBM is binary: nvidia-smi reports 81,559 MiB on H100 80GB and H800, 183,359 MiB
 * (179 GiB) on B200 "180 GB", 189,471 MiB (185 GiB) on GB200 "186 GB"; rocm-smi 205,822,885,888 bytes
 * (191.7 GiB) on MI300X "192 GB". H200's 141e9 predates this file and keeps its decimal reading.
 */
export const GiB = 2 ** 30;

/*
 * Calibration (DESIGN.md §4): `efficiency` holds the only tuned figures, one set per GPU
 * generation, never per run. memory 0.8 is a typical streaming-kernel share of HBM bandwidth.
 * matmul was fitted on the 19 published runs of ../shared/reference/published-runs.json
 * (bench/fidelity.ts; grid over 0.66–0.78): A100 0.72 (SC'21, 10 runs) and H100 0.70 (Megatron
 * README, 9 runs); tpOverlap 0.5 (share of tensor-parallel collectives Transformer Engine's
 * overlap hides, only the H100 runs enable it). V100 has no published run here: it keeps 0.75.
 * Blackwell (B200, GB200) and H800 run on Hopper's set until a calibration fits them.
 * These matmul values were fitted when one factor stood for every loss; matmul now means the share
 * of peak a full-wave, long-K GEMM reaches (cost/gemm.ts prices waves, edges and short K apart), so
 * they are starting points for the next fit (`CALIBRATED_FACTORS`), as the others are.
 * attention is a starting point until the calibration fits it: FlashAttention-2 reaches 50–73% of
 * A100's peak forward (Dao 2023, arXiv 2307.08691), 0.6 is inside that band; Hopper starts there too
 * (FlashAttention-3 reports up to 75% of H100's peak, FlashAttention-2 on H100 about 35%: Shah et al.
 * 2024, arXiv 2407.08608); Volta, whose fused attention predates both, starts lower at 0.5.
 */
export const voltaEfficiency = {
  matmul: 0.75,
  attention: 0.5,
  memory: 0.8,
  tpOverlap: 0.5,
  network: 0.96,
} as const;
export const ampereEfficiency = {
  matmul: 0.72,
  attention: 0.6,
  memory: 0.8,
  tpOverlap: 0.5,
  network: 0.96,
} as const;
export const hopperEfficiency = {
  matmul: 0.7,
  attention: 0.6,
  memory: 0.8,
  tpOverlap: 0.5,
  network: 0.96,
} as const;

/**
 * MI300X's own set. No published MI300X run calibrates it: these are Hopper's starting values,
 * kept apart so that fitting one generation never moves the other.
 */
export const cdna3Efficiency = {
  matmul: 0.7,
  attention: 0.5,
  memory: 0.8,
  tpOverlap: 0.5,
  network: 0.96,
} as const;

/**
 * NVIDIA's slide "Collective Communication Bandwidth" (NCCL Tests Allreduce Bus Bandwidth in GB/s;
 * 8 GPUs in one node, and 32 GPUs across nodes or in one NVL72 rack), as reproduced in
 * stas00/ml-engineering network/README.md §SHARP. The bars are nccl-tests' large-message plateau;
 * the slide prints no message size (stas00 reproduced its 370 and 480 on 8× H200 at 8–16 GiB).
 */
export const GTC25_NCCL_SLIDE =
  'NVIDIA GTC 2025 session S72583, slide "Collective Communication Bandwidth", ' +
  'https://www.nvidia.com/en-us/on-demand/session/gtc25-s72583/';

/** The 2024 edition of the same slide: the only one with a V100 bar (it prints no GPU counts). */
export const GTC24_NCCL_SLIDE =
  'NVIDIA GTC 2024 session S62129, slide "Collective Communication Bandwidth", ' +
  'https://www.nvidia.com/en-us/on-demand/session/gtc24-s62129/';

/**
 * Stas Bekman's measurements on one 8× H200 node and on AWS p6-b200 8× B200 nodes (NCCL 2.27.7),
 * with the algorithm NCCL chose read from NCCL_DEBUG: network/README.md §SHARP and §"Inter-node speed
 * depends on intra-node speed", github.com/stas00/ml-engineering at commit 744d01e.
 */
export const ML_ENGINEERING_NETWORK =
  'stas00/ml-engineering network/README.md (commit 744d01e), ' +
  'https://github.com/stas00/ml-engineering/blob/master/network/README.md';

/** nccl-tests' `-b 8G` and `-b 16G`: binary gigabytes. */
export const EIGHT_GIB = 8 * GiB;
export const SIXTEEN_GIB = 16 * GiB;
