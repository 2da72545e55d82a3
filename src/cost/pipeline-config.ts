import type { PlanRequest } from '../schema/index.ts';
import type {
  GradientReduction,
  Recompute,
  ScheduleKind,
  Zero3Collectives,
  ZeroStage,
} from '../schema/vocabulary.ts';
import { megatronBucketElements } from './data-parallel.ts';
import { GRADIENT_BYTES } from './memory.ts';
import { paramGatherAsked, precisionFormat, type QuantizedFormat } from './quantized-gemm.ts';

/** The knobs of one pipeline replica that the outer search (or an estimate) fixes. */
export interface PipelineConfig {
  /** Data-parallel replicas of the pipeline (not counting context parallelism). */
  readonly dp: number;
  /** Context-parallel degree: each replica's devices come in cp groups, each holding s/cp tokens. */
  readonly cp: number;
  /** Expert-parallel degree: experts split over ep of the dp·cp peers. */
  readonly ep: number;
  readonly microBatch: number;
  readonly microbatches: number;
  readonly recompute: Recompute;
  readonly zero: ZeroStage;
  /**
   * ZeRO-3's parameters gathered a layer ahead, hidden behind the running layer (two layers held
   * whole); false: gathered when needed, one layer held, the gathers exposed.
   */
  readonly zero3Prefetch: boolean;
  /** ZeRO-3's collectives a layer each, or a parameter tensor each over per-rank lists (vocabulary.ts). */
  readonly zero3Collectives: Zero3Collectives;
  /**
   * Whether ZeRO-3 under full recomputation gathers a layer's far-reused modules again for the
   * backward (DeepSpeed's runtime: param-tensors.ts regatheredAfterRecompute).
   */
  readonly zero3RegatherAfterRecompute: boolean;
  readonly schedule: ScheduleKind;
  readonly virtualStages: number;
  /** When data-parallel gradients travel (a framework's runtime decides; DESIGN.md §9). */
  readonly gradientReduction: GradientReduction;
  /** ZeRO 1–2's parameter all-gather hidden behind the next step's first forward (a framework's runtime decides). */
  readonly overlapParamGather: boolean;
  /**
   * Elements per collective of bucketed data-parallel traffic (a framework's runtime decides); null:
   * one collective per layer, as FSDP units go.
   */
  readonly gradientBucketElements: number | null;
  readonly overlapTensorParallelComm: boolean;
  /**
   * Each linear layer's input gradient reduced over tensor parallelism while its weight-gradient GEMM
   * runs (a framework's runtime decides: Megatron-LM's and Transformer Engine's linear layers do).
   */
  readonly overlapInputGradientReduce: boolean;
  /** Expert-parallel all-to-alls hidden behind another microbatch's compute (a framework's runtime decides). */
  readonly overlapExpertParallelComm: boolean;
  /** Bytes per gradient element the data-parallel reduction sends (a framework's runtime decides). */
  readonly gradientReduceBytes: number;
  /** Bytes per gradient element held whole in memory, ZeRO 0–1 (a framework's runtime decides). */
  readonly heldGradientBytes: number;
  /** Bytes kept per element of a quantized GEMM's weight beside it (a framework's runtime decides). */
  readonly quantizedWeightCacheBytes: number;
  /**
   * The format the quantized GEMMs' weights are kept in alone, their quantized copies being the
   * parameter (no bf16 copy), and gathered in by ZeRO 1 — and by ZeRO 2 in FP8 or MXFP8, which
   * Megatron-FSDP gathers and NVFP4 it does not (ParallelSpec.fp8ParamGather, fp4ParamGather); null: a bf16 weight
   * beside the copies, gathered in bf16.
   */
  readonly quantizedParamGather: QuantizedFormat | null;
}

/**
 * A replica's configuration: what the caller chose, and the request's pins or their defaults for the
 * rest — Megatron-LM's runtime: the gradient reduction and parameter gather overlapped (DDP, FSDP,
 * --overlap-grad-reduce and --overlap-param-gather), tensor parallelism's input gradients reduced
 * alongside the weight-gradient GEMMs (its linear layers), its other collectives and the expert
 * all-to-alls not overlapped, 1F1B unless GPipe is asked for.
 */
export function pipelineConfig(
  request: PlanRequest,
  chosen: Pick<PipelineConfig, 'dp' | 'microBatch' | 'recompute' | 'zero'> &
    Partial<Pick<PipelineConfig, 'cp' | 'ep' | 'zero3Prefetch'>>,
): PipelineConfig {
  const p = request.parallel;
  const format = precisionFormat(request.training.precision);
  const overlapped = p?.overlapGradReduce !== false;
  return {
    cp: 1,
    ep: 1,
    zero3Prefetch: true,
    ...chosen,
    zero3Collectives: p?.zero3Collectives ?? 'per-layer',
    // Per-tensor lists are DeepSpeed's of 2021, whose reuse distance released them; the default
    // runtime (Megatron-FSDP) keeps a unit gathered.
    zero3RegatherAfterRecompute: p?.zero3Collectives === 'per-tensor-list',
    microbatches: request.training.globalBatch / (chosen.dp * chosen.microBatch),
    schedule: p?.schedule === 'gpipe' ? 'gpipe' : '1f1b',
    virtualStages: p?.virtualStages ?? 1,
    gradientReduction: overlapped ? 'overlapped' : 'after-backward',
    overlapParamGather: overlapped,
    gradientBucketElements: megatronBucketElements(chosen.dp * (chosen.cp ?? 1), overlapped),
    overlapTensorParallelComm: p?.overlapTensorParallelComm ?? false,
    overlapInputGradientReduce: p?.overlapInputGradientReduce ?? true,
    overlapExpertParallelComm: p?.overlapExpertParallelComm ?? false,
    gradientReduceBytes: GRADIENT_BYTES,
    heldGradientBytes: GRADIENT_BYTES,
    quantizedWeightCacheBytes: format?.weightCopyBytes ?? 0,
    // The distributed optimizer's gather (and Megatron-FSDP's, FP8 only): ZeRO 0 has none, ZeRO-3
    // gathers layer by layer in bf16.
    quantizedParamGather:
      paramGatherAsked(request.training.precision, p) &&
      (chosen.zero === 1 || (chosen.zero === 2 && format?.dtype !== 'nvfp4'))
        ? format
        : null,
  };
}
