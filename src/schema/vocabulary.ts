/**
 * The words of meshplan's vocabulary (DESIGN.md §3), each one `z.enum` defined here and imported
 * everywhere else: request and response schemas, OpenAPI, the CLI's choices, the cost model, the
 * viewer. A new value is added here once and every room sees it.
 */
import { z } from 'zod';

/** How a solve ended: a proven optimum, a verified answer without proof, none exists, none in time. */
export const PlanStatus = z.enum(['optimal', 'feasible', 'infeasible', 'timeout']);
export type PlanStatus = z.infer<typeof PlanStatus>;

/**
 * Collectives over one mesh axis (DESIGN.md §4); a halo exchange is each device's send of the
 * border rows of a split sliding window to both its neighbours on the axis.
 */
export const CollectiveKind = z.enum([
  'all-reduce',
  'all-gather',
  'reduce-scatter',
  'all-to-all',
  'halo-exchange',
]);
export type CollectiveKind = z.infer<typeof CollectiveKind>;

/**
 * How a collective runs over a group (DESIGN.md §4.1): NCCL's ring, tree (all-reduce across nodes)
 * and NVLS (all-reduce reduced inside the NVLink switch) — its `NCCL_ALGO` names in lower case —
 * and the two-level form for groups spanning nodes (reduce-scatter inside each node, the nodes'
 * collective over each GPU's own network rail, all-gather inside each node). `direct`: every device
 * sends to every peer at once (all-to-all, halo exchange).
 */
export const CollectiveAlgorithm = z.enum(['ring', 'tree', 'nvls', 'hierarchical', 'direct']);
export type CollectiveAlgorithm = z.infer<typeof CollectiveAlgorithm>;

/** The pass of a training step a cost belongs to. */
export const Phase = z.enum(['forward', 'backward']);
export type Phase = z.infer<typeof Phase>;

/** Per tensor dim: replicated, or split over mesh axis 0, axis 1, or both (axis 0 major). */
export const DimSpec = z.enum(['R', 'S0', 'S1', 'S01']);
export type DimSpec = z.infer<typeof DimSpec>;

/**
 * Activation recomputation: none; selective, Korthikanti et al. 2022's (the attention core, or the
 * Megatron modules `recomputeModules` names); per-op, torchtitan's per-op selective checkpointing
 * (activation_checkpoint.mode "selective", selective_ac_option "op": each block keeps the outputs
 * of its attention and of every other bf16 matmul and redoes the rest, cost/saved.ts); full, every
 * transformer block redone from its input.
 */
export const Recompute = z.enum(['none', 'selective', 'per-op', 'full']);
export type Recompute = z.infer<typeof Recompute>;

/**
 * The submodules Megatron-LM core_v0.19.0's selective recomputation can redo
 * (`--recompute-modules`, TransformerConfig.recompute_modules; default core_attn): the attention
 * core; the MoE experts' activation; the two pre-norms of a block; MLA's up projections and RoPE;
 * a dense MLP; a whole MoE layer; the shared experts. (Its gdn_norm_out belongs to an attention
 * variant meshplan does not build.)
 */
export const RecomputeModule = z.enum([
  'core_attn',
  'moe_act',
  'layernorm',
  'mla_up_proj',
  'mlp',
  'moe',
  'shared_experts',
]);
export type RecomputeModule = z.infer<typeof RecomputeModule>;

/** What selective recomputation redoes when the request does not list modules (Megatron's default). */
export const DEFAULT_RECOMPUTE_MODULES: readonly RecomputeModule[] = ['core_attn'];

/**
 * How Megatron-LM routes tokens to expert-parallel peers (--moe-token-dispatcher-type, core_v0.19.0):
 * `alltoall`, NCCL all-to-alls with a permutation before and, when a rank holds several experts, a
 * sort of what it receives by local expert (and both undone after the experts); `flex`, DeepEP or
 * HybridEP kernels that permute inside the exchange, run no separate sort, and send a token to each
 * remote node holding one of its experts once, its copies handed on over that node's NVLink
 * (`Exchange.nodeDeduplicated`): across nodes flex moves a fraction of the all-to-all's network bytes.
 * meshplan prices and exports flex on HybridEP, which all-gathers every peer's routing map each
 * forward and, unlike DeepEP, spans a multi-node NVLink domain.
 */
export const MoeDispatcher = z.enum(['alltoall', 'flex']);
export type MoeDispatcher = z.infer<typeof MoeDispatcher>;

/**
 * Where an MoE layer scales each routed token by its router weight: inside the expert, on the
 * activation (`activation`: Megatron-Core's weighted SwiGLU and its GLU fallback, experts.py
 * core_v0.19.0, after which the combine is a plain sum keeping nothing for backward), or on the
 * experts' outputs as the combine sums them (`combine`: Hugging Face's Mixtral, torchtitan's
 * score_before_experts false), which keeps each routed output for the weights' gradient.
 */
export const RouterWeightsAt = z.enum(['activation', 'combine']);
export type RouterWeightsAt = z.infer<typeof RouterWeightsAt>;

/** Pipeline schedules. */
export const ScheduleKind = z.enum(['1f1b', 'gpipe', 'interleaved']);
export type ScheduleKind = z.infer<typeof ScheduleKind>;

/** ZeRO stage: 0 none; 1 optimizer state, 2 + gradients, 3 + parameters sharded over data parallelism. */
export const ZeroStage = z.union([z.literal(0), z.literal(1), z.literal(2), z.literal(3)]);
export type ZeroStage = z.infer<typeof ZeroStage>;

/**
 * How a ZeRO-3 runtime cuts its parameter gathers and gradient reductions: one collective per layer
 * (FSDP's units, Megatron-FSDP, DeepSpeed's coalesced fetches from v0.5.5), or one per parameter
 * tensor over a list of one tensor per rank (DeepSpeed before v0.5.5: partition_parameters.py
 * `_allgather_param` and `_reduce_scatter_gradient`), which PyTorch's ProcessGroupNCCL copies out of
 * (all-gather) or into (reduce-scatter) its flat buffer one piece at a time.
 */
export const Zero3Collectives = z.enum(['per-layer', 'per-tensor-list']);
export type Zero3Collectives = z.infer<typeof Zero3Collectives>;

/**
 * Training precision: mixed precision with bf16 or fp16 activations and weights; `fp8` runs the
 * linear layers' GEMMs at the FP8 tensor-core rate (Transformer Engine's scaling), bf16 elsewhere;
 * `mxfp8` runs them in MXFP8 (E4M3 with an E8M0 scale per 32 elements, Transformer Engine's
 * MXFP8BlockScaling) at the FP8 rate; `nvfp4` runs them — forward, data and weight gradients — in
 * NVFP4 (E2M1 with an E4M3 scale per 16 elements, Transformer Engine's NVFP4BlockScaling) at the FP4
 * tensor-core rate. Both block-scaled formats need the tensor cores of Blackwell and later (those
 * with `cluster.gpu.peakTflops.nvfp4`); bf16 elsewhere (cost/quantized-gemm.ts).
 */
export const Precision = z.enum(['bf16', 'fp16', 'fp8', 'mxfp8', 'nvfp4']);
export type Precision = z.infer<typeof Precision>;

/**
 * The tensor-core format a precision runs its linear layers' GEMMs in below their bf16 operands — a
 * quantized GEMM (its costs: cost/quantized-gemm.ts) — or null where they run in the operands' own.
 */
export function quantizedGemmDtype(precision: Precision): 'fp8' | 'mxfp8' | 'nvfp4' | null {
  return precision === 'fp8' || precision === 'mxfp8' || precision === 'nvfp4' ? precision : null;
}

export const Optimizer = z.enum(['adam']);
export type Optimizer = z.infer<typeof Optimizer>;

/**
 * The MLP's nonlinearity: GELU (GPT), SwiGLU (Llama), GeGLU (Grok: a GELU-gated GLU), quick GeGLU
 * (gpt-oss: gated by GELU's sigmoid approximation x·σ(1.702·x), Megatron-LM's --quick-geglu),
 * squared ReLU (Nemotron). The GLUs have two up projections.
 */
export const Activation = z.enum(['gelu', 'swiglu', 'geglu', 'quick-geglu', 'squared-relu']);
export type Activation = z.infer<typeof Activation>;

/** The gated activations (GLUs): a gate and an up projection, multiplied. */
export const GATED_ACTIVATIONS: readonly Activation[] = ['swiglu', 'geglu', 'quick-geglu'];

export const Norm = z.enum(['layernorm', 'rmsnorm']);

/** How context parallelism exchanges keys and values (Megatron's --cp-comm-type). */
export const CpCommType = z.enum(['p2p', 'a2a', 'allgather']);
export type CpCommType = z.infer<typeof CpCommType>;

/** Where token positions come from: a learned absolute table (GPT) or rotary embeddings (Llama). */
export const PositionEmbedding = z.enum(['learned', 'rope']);
export type PositionEmbedding = z.infer<typeof PositionEmbedding>;
export type Norm = z.infer<typeof Norm>;

/**
 * How attention runs: 'flash' (one fused kernel, the s×s scores never stored: the generation's own,
 * as Transformer Engine runs cuDNN's), 'flash2' (the same fused algorithm in FlashAttention-2's
 * kernels, as PyTorch's SDPA flash backend runs them: on Hopper and later without the generation's
 * tensor-core instructions, so slower) or 'eager' (scores, softmax, dropout and context as separate
 * kernels, as Megatron-LM ran in 2021).
 */
export const AttentionKind = z.enum(['flash', 'flash2', 'eager']);
export type AttentionKind = z.infer<typeof AttentionKind>;

/** Training frameworks a plan can be exported to and searched for (DESIGN.md §9). */
export const FrameworkName = z.enum(['megatron', 'torchtitan', 'deepspeed', 'jax']);
export type FrameworkName = z.infer<typeof FrameworkName>;

/** What the search is restricted to: one framework's runtime and layouts, or `any`. */
export const FrameworkTarget = z.enum(['any', ...FrameworkName.options]);
export type FrameworkTarget = z.infer<typeof FrameworkTarget>;

/**
 * When data-parallel gradients are reduced across replicas: bucket by bucket during the last
 * microbatch's backward pass ('overlapped'), after it ('after-backward'), or at every accumulation
 * microbatch, each overlapped with that microbatch's backward pass ('every-microbatch').
 */
export const GradientReduction = z.enum(['overlapped', 'after-backward', 'every-microbatch']);
export type GradientReduction = z.infer<typeof GradientReduction>;

/**
 * GPU generations, one file each under src/cluster/gpus/: the unit calibration fits one set of
 * efficiency factors for (DESIGN.md §10), never a single run or model.
 */
export const GpuGeneration = z.enum(['volta', 'ampere', 'hopper', 'blackwell', 'cdna3']);
export type GpuGeneration = z.infer<typeof GpuGeneration>;
