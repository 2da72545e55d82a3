import { z } from 'zod';
import { ClusterSpec } from './cluster.ts';
import { HYBRID_LAYER_SYMBOLS, ModelSpec, type TransformerSpec } from './model.ts';
import { TrainingSpec } from './training.ts';
import {
  CpCommType,
  FrameworkTarget,
  quantizedGemmDtype,
  Recompute,
  RecomputeModule,
  ScheduleKind,
  Zero3Collectives,
  ZeroStage,
} from './vocabulary.ts';

const degree = z.number().int().positive().max(1_000_000);

/**
 * A parallel configuration. `estimate` needs tp, pp, dp and microBatch; `plan` treats every given
 * field as pinned and searches the rest.
 */
export const ParallelSpec = z
  .object({
    tp: degree.optional(),
    pp: degree.optional(),
    /** Data parallelism: devices / (tp · cp · pp). */
    dp: degree.optional(),
    /** Context parallelism: each device holds seqLen / cp tokens of every sequence. */
    cp: degree.optional(),
    /**
     * How context parallelism exchanges keys and values (default p2p: a ring overlapped with attention;
     * a2a for a model with a sliding window, which Transformer Engine runs only over a2a or allgather).
     */
    cpCommType: CpCommType.optional(),
    /** Expert parallelism: experts split over ep devices carved from dp · cp, tokens routed all-to-all. */
    ep: degree.optional(),
    /**
     * Expert tensor parallelism: tp (the default, as in Megatron) or 1, Megatron-Core's MoE parallel
     * folding — the experts split over the tp ranks too, so ep spans tp · dp · cp.
     */
    etp: degree.optional(),
    microBatch: degree.optional(),
    /** Model chunks per pipeline stage (Megatron's interleaved 1F1B); 1 = plain 1F1B. */
    virtualStages: degree.max(1024).optional(),
    /**
     * Transformer blocks per pipeline stage, first to last (the embedding rides with the first
     * stage, the head with the last): an uneven split such as BLOOM's [5, 6, …, 6, 5]. They sum to
     * the model's layers; their count is pp. Without it `estimate` splits evenly. With virtualStages
     * a stage's blocks are cut into its chunks as evenly as they go (frameworks/pipeline-split.ts).
     */
    stageLayers: z.array(z.number().int().nonnegative().max(100_000)).min(1).max(100_000).optional(),
    recompute: Recompute.optional(),
    /**
     * What selective recomputation redoes, as Megatron-LM's --recompute-modules names it (default
     * core_attn); needs `recompute: "selective"` and a transformer that has the modules.
     */
    recomputeModules: z
      .array(RecomputeModule)
      .min(1)
      .max(RecomputeModule.options.length)
      .refine((m) => new Set(m).size === m.length, 'lists a module twice')
      .optional(),
    zero: ZeroStage.optional(),
    /**
     * ZeRO-3 only: gather the next layer's parameters while one runs (true: FSDP2's and Megatron-FSDP's
     * way, two layers held whole) or only when each is needed (false: one layer held, its gathers
     * exposed; DeepSpeed with stage3_prefetch_bucket_size 0). Default: prefetch where it fits.
     */
    zero3Prefetch: z.boolean().optional(),
    /**
     * ZeRO-3 only: how its runtime cuts the gathers and reductions (vocabulary.ts Zero3Collectives).
     * Default "per-layer"; "per-tensor-list" prices DeepSpeed before v0.5.5 (2021): a collective per
     * parameter tensor, each waited for, each with host ops and HBM copies for its per-rank list
     * (cost/data-parallel.ts), and under full recomputation a third gather of the modules its reuse
     * distance released (cost/param-tensors.ts).
     */
    zero3Collectives: Zero3Collectives.optional(),
    sequenceParallel: z.boolean().optional(),
    schedule: ScheduleKind.optional(),
    /**
     * Reduce data-parallel gradients bucket by bucket during the last backward pass (Megatron's
     * --overlap-grad-reduce, DDP and FSDP by default); off, the whole reduction follows it.
     */
    overlapGradReduce: z.boolean().optional(),
    /**
     * Overlap tensor-parallel collectives with the GEMMs around them (Megatron's --tp-comm-overlap
     * with Transformer Engine); the GPU catalog's `efficiency.tpOverlap` says how much hides.
     */
    overlapTensorParallelComm: z.boolean().optional(),
    /**
     * Reduce each linear layer's input gradient over tensor parallelism while the same layer's
     * weight-gradient GEMM runs (Megatron-LM's and Transformer Engine's linear layers launch it
     * asynchronously; Megatron-LM before late 2021 waited for it). Default: what the framework does.
     */
    overlapInputGradientReduce: z.boolean().optional(),
    /**
     * Hide expert parallelism's dispatch and combine all-to-alls behind another microbatch's
     * compute (Megatron-LM's --overlap-moe-expert-parallel-comm, DeepSeek-V3's DualPipe); the GPU
     * catalog's `efficiency.tpOverlap` share of them hides, never more than the layer's compute.
     */
    overlapExpertParallelComm: z.boolean().optional(),
    /**
     * Keep the FP8 GEMMs' weights in FP8 alone — the FP8 copy and transpose Transformer Engine
     * caches become the parameter, no bf16 weight beside them — and have the distributed optimizer
     * gather them in FP8 after its step (Megatron-LM's --fp8-param-gather, on in Megatron-Bridge's
     * FP8 precision configs): 2 bytes fewer per such weight element, and ZeRO 1–2's parameter all-gather
     * sends 1 byte of each instead of 2. Needs training.precision "fp8" and ZeRO 1 or 2.
     */
    fp8ParamGather: z.boolean().optional(),
    /**
     * fp8ParamGather's NVFP4 counterpart: keep the NVFP4 GEMMs' weights in NVFP4 alone (their row-wise
     * and column-wise copies, 1.125 bytes an element, in place of a bf16 weight beside them) and have
     * the distributed optimizer gather them in NVFP4, 0.5625 bytes an element (Megatron-LM's
     * --fp4-param-gather, on in Megatron-Bridge's NVFP4 precision config). Needs training.precision
     * "nvfp4" and ZeRO 1 (Megatron-FSDP has no NVFP4 gather).
     */
    fp4ParamGather: z.boolean().optional(),
  })
  .strict();
export type ParallelSpec = z.infer<typeof ParallelSpec>;

export const PlanOptions = z
  .object({
    /** Wall-clock limit of the whole search, seconds. */
    timeLimitSec: z.number().positive().max(3600).default(60),
    /** Share of each GPU's memory the plan may use (allocator fragmentation, CUDA context, buffers). */
    memoryHeadroom: z.number().gt(0).max(1).default(0.9),
    /**
     * The framework the plan is for: the search considers only what it runs, priced with its
     * runtime. `any`: the best plan found, plus the best each framework can run (`frameworks`).
     */
    target: FrameworkTarget.default('any'),
  })
  .strict();
export type PlanOptions = z.infer<typeof PlanOptions>;

export const PlanRequest = z
  .object({
    model: ModelSpec,
    cluster: ClusterSpec,
    training: TrainingSpec,
    parallel: ParallelSpec.optional(),
    options: PlanOptions.default({ timeLimitSec: 60, memoryHeadroom: 0.9, target: 'any' }),
  })
  .strict()
  .superRefine((r, ctx) => {
    // Days to train come from tokens per second, which needs a sequence length a graph lacks.
    if (r.training.tokens !== undefined && r.model.kind !== 'transformer')
      ctx.addIssue({
        code: 'custom',
        path: ['training', 'tokens'],
        message: 'counting tokens needs a transformer model (a graph model has no sequence length)',
      });
    // Prefetching is ZeRO-3's knob: with another stage pinned it would say nothing.
    const zero = r.parallel?.zero;
    if (r.parallel?.zero3Prefetch !== undefined && zero !== undefined && zero !== 3)
      ctx.addIssue({
        code: 'custom',
        path: ['parallel', 'zero3Prefetch'],
        message: `ZeRO-3's prefetching needs zero 3 (zero is pinned to ${zero})`,
      });
    const collectives = r.parallel?.zero3Collectives;
    if (collectives !== undefined && zero !== undefined && zero !== 3)
      ctx.addIssue({
        code: 'custom',
        path: ['parallel', 'zero3Collectives'],
        message: `how ZeRO-3 cuts its collectives needs zero 3 (zero is pinned to ${zero})`,
      });
    // The frameworks' targeted releases gather a layer (or a module) at a time, never tensor by tensor.
    if (collectives === 'per-tensor-list' && r.options.target !== 'any')
      ctx.addIssue({
        code: 'custom',
        path: ['parallel', 'zero3Collectives'],
        message: `"per-tensor-list" is DeepSpeed before v0.5.5; options.target ${r.options.target} gathers a layer at a time`,
      });
    // Megatron-FSDP (ZeRO 2) gathers FP8 weights but not NVFP4 ones: the distributed optimizer's alone.
    for (const [field, precisions, format, zeros] of [
      ['fp8ParamGather', ['fp8', 'mxfp8'], 'FP8', [1, 2]],
      ['fp4ParamGather', ['nvfp4'], 'NVFP4', [1]],
    ] as const) {
      if (r.parallel?.[field] !== true) continue;
      const path = ['parallel', field];
      if (!(precisions as readonly string[]).includes(r.training.precision))
        ctx.addIssue({
          code: 'custom',
          path,
          message: `gathers ${format} weights: needs training.precision ${precisions.map((p) => `"${p}"`).join(' or ')} (it is "${r.training.precision}")`,
        });
      if (zero !== undefined && !(zeros as readonly number[]).includes(zero))
        ctx.addIssue({
          code: 'custom',
          path,
          message: `is the distributed optimizer's gather: needs zero ${zeros.join(' or ')} (zero is pinned to ${zero})`,
        });
    }
    // Expert TP is tp (Megatron's default) or 1 (the experts folded over the tp ranks).
    const etp = r.parallel?.etp;
    if (etp !== undefined && etp !== 1 && etp !== r.parallel?.tp)
      ctx.addIssue({
        code: 'custom',
        path: ['parallel', 'etp'],
        message:
          r.parallel?.tp === undefined
            ? `etp = ${etp} needs tp pinned to it (expert tensor parallelism is tp, or 1 to fold the experts over the tp ranks)`
            : `expert tensor parallelism is tp (${r.parallel.tp}) or 1 (the experts folded over the tp ranks), not ${etp}`,
      });
    checkBf16Layers(r.training, r.model, ctx);
    const modules = r.parallel?.recomputeModules;
    if (modules === undefined) return;
    const path = ['parallel', 'recomputeModules'];
    if (r.parallel?.recompute !== 'selective')
      ctx.addIssue({
        code: 'custom',
        path,
        message: 'lists what recompute "selective" redoes: set parallel.recompute to "selective"',
      });
    // A graph's ops name their modules themselves (recomputeModules); a transformer's are known.
    const model = r.model;
    if (model.kind !== 'transformer') return;
    const missing = modules.filter((m) => !hasModule(model, m));
    if (missing.length > 0)
      ctx.addIssue({ code: 'custom', path, message: `the model has no ${missing.join(', ')} module` });
  });

/**
 * Whether a transformer has ops in one of Megatron's recompute modules (a dense MLP: a dense block,
 * or a hybrid pattern's `-` layer; the attention core: a block, or a `*` layer).
 */
function hasModule(model: TransformerSpec, module: RecomputeModule): boolean {
  const pattern = model.hybridPattern;
  if (pattern !== undefined && module === 'mlp') return pattern.includes(HYBRID_LAYER_SYMBOLS.mlp);
  if (pattern !== undefined && module === 'core_attn')
    return pattern.includes(HYBRID_LAYER_SYMBOLS.attention) || model.mtpLayers > 0;
  switch (module) {
    case 'moe':
    case 'moe_act':
      return model.moe !== undefined;
    case 'shared_experts':
      return (model.moe?.sharedExperts ?? 0) > 0;
    case 'mla_up_proj':
      return model.mla !== undefined;
    case 'mlp':
      return model.moe === undefined || model.moe.denseLayers > 0;
    case 'core_attn':
    case 'layernorm':
      return true;
  }
}
/**
 * Blocks kept in bf16 need GEMMs that would otherwise be quantized, and a transformer whose blocks
 * are known (an imported graph's are cut by the planner).
 */
function checkBf16Layers(training: TrainingSpec, model: ModelSpec, ctx: z.RefinementCtx): void {
  const kept = training.bf16Layers;
  if (kept === undefined) return;
  const path = ['training', 'bf16Layers'];
  if (quantizedGemmDtype(training.precision) === null)
    ctx.addIssue({
      code: 'custom',
      path,
      message: `keeps blocks' GEMMs in bf16 out of a quantized precision: needs training.precision "fp8", "mxfp8" or "nvfp4" (it is "${training.precision}")`,
    });
  if (model.kind !== 'transformer') {
    ctx.addIssue({
      code: 'custom',
      path,
      message: 'names blocks of a transformer spec; this model is a graph',
    });
    return;
  }
  if (kept.first + kept.last > model.layers)
    ctx.addIssue({
      code: 'custom',
      path,
      message: `keeps ${kept.first} + ${kept.last} blocks in bf16; the model has ${model.layers}`,
    });
}

export type PlanRequest = z.infer<typeof PlanRequest>;
export type PlanRequestInput = z.input<typeof PlanRequest>;
