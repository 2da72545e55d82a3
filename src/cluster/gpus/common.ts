import type { GpuGeneration } from '../../schema/index.ts';

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
 * Calibration (DESIGN.md §10): `efficiency` holds the only tuned figures, one set per GPU
 * generation, never per run. Of the kernel factors (CALIBRATED_FACTORS), matmul and attention are
 * fitted by `npm run bench -- factors` (Nelder–Mead on the mean absolute step-time error,
 * src/planner/calibration/) on the 31 runs of ../shared/reference/published-runs.json and
 * published-runs-modern.json; `npm run bench -- fidelity` reports them with leave-one-source-out.
 * memory, the memory-bound kernels' share of HBM bandwidth, is not fitted on them (they hardly
 * identify it; see PUBLISHED_FIT_FACTORS): 0.8 on every generation, below the ~0.9 of nominal
 * bandwidth that sustained copies reach on A100 and H100, as these kernels also pay launch and tail.
 * Fit of 2026-12-06, on the grounded kernels (GEMM waves, FlashAttention, memory-bound kernels),
 * NCCL-priced collectives, data-parallel traffic hidden pass by pass as each runtime overlaps it and
 * sent as the runtime's buckets or one collective per layer, and torchtitan's runs on the
 * FlashAttention-2 kernels they ran (1/1.6 of cuDNN's, cost/attention-kernel.ts), the loss as
 * Megatron-LM's unfused cross entropy moves its fp32 logits (cost/memory-kernels.ts), and
 * tensor-parallel input gradients reduced alongside the weight-gradient GEMMs where the runtime does
 * (Megatron-LM since September 2021, so not SC'21's runs; cost/layout-eval.ts), one move of a tensor
 * that several consumers read in one layout (fused QKV, gate/up), FP8 GEMMs' gathers in FP8, and MoE
 * tokens routed under sequence parallelism as Megatron-Core's all-to-all dispatcher routes them, and
 * interleaved pipelines' end stages handing over at both edges of their extra chunks (cost/step.ts),
 * and full recomputation redoing the blocks only, not the embedding and the output layer (cost model of
 * 2026-12-07; it moved Ampere's matmul from 0.759), and torchtitan's H200 run with the per-op
 * selective checkpointing it ran (it moved Hopper from matmul 0.693, attention 0.358, 5.9%), and
 * torchtitan's 96 GB H100 priced at the 2.4 TB/s of HBM2e its record states (attention 0.42 → 0.43),
 * and SC'21's runs without pipeline parallelism with the gradient reduction overlapped, as torch's DDP
 * their scripts chose ran it (bench/record-facts.ts `gradReduceOverlapped`; Ampere 0.751 → 0.743), and
 * gated activations as one fused kernel keeping only its inputs, MoE router weights applied in the
 * experts' activation (Megatron-Core's; model.activationFusion, moe.routerWeights; Hopper matmul
 * 0.681 → 0.68, attention 0.43 → 0.425), and the flex dispatcher's tokens sent once to each remote
 * node (cost/exchange.ts), current-scaling FP8 casts with their amax pass, and a grouped GEMM's
 * kernels launched expert by expert (cost/quantized-gemm.ts, cost/gemm.ts; attention 0.425 → 0.43),
 * and a linear module's GEMMs casting their one input once (OpSpec.fusedWith; attention 0.43 → 0.427),
 * and torchtitan's 500 W H100 priced at the middle of the peaks its report places it between (SXM's and
 * NVL's; bench/record-facts.ts h100With96GiB; attention 0.427 → 0.437) and causal attention's
 * diagonal tiles computed whole (cost/attention-kernel.ts; matmul 0.68 → 0.679, attention 0.444):
 * - Ampere, on SC'21's 10 A100 runs: matmul 0.743; in-sample mean |error| 2.2%. attention keeps its
 *   start 0.6: those runs used eager attention.
 * - Hopper, on 19 H100/H200 runs (Megatron README 9, DGX Cloud recipes 3, NeMo 2, Megatron-Bridge 2,
 *   torchtitan 2, Nemotron-4 1): matmul 0.679, attention 0.444; in-sample 7.2%.
 * - Blackwell has 2 runs, fewer than one more than its 2 fitted factors: it borrows Hopper's fit,
 *   matmul scaled by the generations' published GEMM shares (ACHIEVABLE_MATMUL_SHARE): 0.679 ×
 *   77.6 / 80.3 = 0.656 (from the unrounded fit).
 * tpOverlap 0.5 (share of tensor-parallel collectives Transformer Engine's overlap hides) and network
 * 0.96 (share of the NIC's line rate NCCL reaches across nodes: 192 of 200 GB/s on DGX A100, 381.8 of
 * 400 on B200) describe the runtime and the network, not a kernel, and are not fitted.
 * - Volta has no published run here: it borrows Ampere's fit the same way, 0.743 × 90.2 / 86.9 =
 *   0.771, and Ampere's attention start.
 */
export const voltaEfficiency = {
  matmul: 0.771,
  attention: 0.6,
  memory: 0.8,
  tpOverlap: 0.5,
  network: 0.96,
} as const;
export const ampereEfficiency = {
  matmul: 0.743,
  attention: 0.6,
  memory: 0.8,
  tpOverlap: 0.5,
  network: 0.96,
} as const;
export const hopperEfficiency = {
  matmul: 0.679,
  attention: 0.444,
  memory: 0.8,
  tpOverlap: 0.5,
  network: 0.96,
} as const;
export const blackwellEfficiency = { ...hopperEfficiency, matmul: 0.656 } as const;

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

/**
 * How close each generation's best GEMM comes to its dense BF16 peak, from Stas Bekman's Maximum
 * Achievable Matmul FLOPS (MAMF) table (stas00/ml-engineering compute/accelerator/README.md at commit
 * 744d01e: the best BF16 `matmul` mamf-finder.py finds over a sweep of shapes, one GPU at a time, on
 * PyTorch 2.6–2.7): A100 SXM 271.2 of 312 TFLOP/s, H100 SXM 794.5 of 989 (H200 the same), B200 SXM
 * 1,745 of 2,250. A
 * generation with too few published runs of its own borrows a neighbour's fitted matmul factor scaled
 * by the ratio of these shares (calibration/by-generation.ts `borrowedFactors`): the factor is a share
 * of the lender's peak, and the borrower's GEMMs reach a different share of their own. The table has
 * no V100: Volta's is a cuBLAS FP16 GEMM of M = N = K = 8192 measured at about 101 TFLOP/s on a V100
 * PCIe, 90% of its 112 TFLOP/s peak at 1.38 GHz (NVIDIA Developer Forums, "Understanding IPC and
 * issue slot utilization when using Tensor Cores", VOLTA_GEMM_FORUM_POST). CDNA 3 is left out
 * because its figure is the software's more than the chip's (MI300X: 60.1% on ROCm 6.2 in the table's
 * earlier edition, 51.4% on ROCm 6.3 in this one).
 */
export const ACHIEVABLE_MATMUL_SHARE: Readonly<Partial<Record<GpuGeneration, number>>> = {
  volta: 101 / 112,
  ampere: 271.2 / 312,
  hopper: 794.5 / 989,
  blackwell: 1745 / 2250,
};

/** Where Volta's achievable GEMM share comes from (ACHIEVABLE_MATMUL_SHARE). */
export const VOLTA_GEMM_FORUM_POST =
  'https://forums.developer.nvidia.com/t/understanding-ipc-and-issue-slot-utilization-when-using-tensor-cores/79781';

/** nccl-tests' `-b 8G` and `-b 16G`: binary gigabytes. */
export const EIGHT_GIB = 8 * GiB;
export const SIXTEEN_GIB = 16 * GiB;

/*
 * The special-function units compute a softmax's exponentials (MUFU.EX2): 16 a clock per SM from
 * Volta to Blackwell (CUDA C++ Programming Guide, throughput of native arithmetic instructions:
 * base-2 exponential), while the dense 16-bit tensor FLOPs a clock per SM doubled each generation
 * (V100 1,024, A100 2,048, H100 4,096 by their whitepapers' SMs × clock; B200 8,192,
 * FlashAttention-4, Zadouri et al. 2026, arXiv 2603.05451, which finds the exponentials the forward's
 * bottleneck there). So a generation's tensor peak over these gives its exponentials a second
 * (FlashAttention-3, Shah et al. 2024: H100 SXM5's 989 TFLOP/s of matmul against 3.9 T special-function
 * operations). Blackwell Ultra doubles its units (NVIDIA Technical Blog, "Making Softmax More
 * Efficient with NVIDIA Blackwell Ultra", 2025): half Blackwell's FLOPs per exponential, which its
 * catalog entries state (GpuSpec.exponentialsPerSec).
 */
export const TENSOR_FLOPS_PER_EXPONENTIAL: Readonly<Partial<Record<GpuGeneration, number>>> = {
  volta: 1024 / 16,
  ampere: 2048 / 16,
  hopper: 4096 / 16,
  blackwell: 8192 / 16,
};
export const BLACKWELL_ULTRA_TENSOR_FLOPS_PER_EXPONENTIAL = 8192 / 32;
