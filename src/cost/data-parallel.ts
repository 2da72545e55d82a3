/**
 * Data parallelism across pipeline replicas (DESIGN.md §4): the gradient traffic ZeRO's stages
 * imply, and the overlap term that hides it behind the backward pass.
 */
import { collectiveSec } from '../cluster/collectives.ts';
import type { MeshAxis } from '../cluster/mesh.ts';
import type { GpuSpec } from '../schema/index.ts';
import type { CollectiveKind, GradientReduction, ZeroStage } from '../schema/vocabulary.ts';
import { KERNEL_LAUNCH_SEC, memoryBoundSec } from './kernel-rates.ts';
import { GRADIENT_BYTES, WEIGHT_BYTES } from './memory.ts';

/** One device's data-parallel traffic: once per step, and per microbatch during each of its passes. */
export interface DataParallelTraffic {
  /** Once per step, after the last microbatch's backward: the gradient reduction. */
  readonly perStepSec: number;
  /** Once per step, before the next step's first forward: ZeRO 1–2's gather of the updated parameters. */
  readonly perStepGatherSec: number;
  /** Per microbatch, before or during its forward pass: ZeRO-3's parameter gathers. */
  readonly forwardPerMicrobatchSec: number;
  /** Per microbatch, during or after its backward pass: gathers again, and gradient reductions. */
  readonly backwardPerMicrobatchSec: number;
}

const NONE: DataParallelTraffic = {
  perStepSec: 0,
  perStepGatherSec: 0,
  forwardPerMicrobatchSec: 0,
  backwardPerMicrobatchSec: 0,
};

/**
 * Megatron-LM's gradient bucket when --ddp-bucket-size is unset and the reduction overlaps the
 * backward (DistributedDataParallel: max(4e7, 1e6 · data-parallel size), the size counting context
 * parallelism); without overlap it keeps one bucket. Also the default runtime's, which prices
 * ZeRO 1 as Megatron's distributed optimizer.
 */
export function megatronBucketElements(replicas: number, overlapped: boolean): number {
  return overlapped ? Math.max(40_000_000, 1_000_000 * replicas) : Number.POSITIVE_INFINITY;
}

/**
 * What a runtime cuts its unbucketed traffic into (ZeRO-3's always, the rest where it does not
 * bucket): `count` collectives a pass — layers, or parameter tensors — and, where each takes a list
 * of one tensor per rank (DeepSpeed before v0.5.5), the GPU whose HBM the lists' copies stream
 * through (`listCollectiveSec`).
 */
export interface CollectiveUnits {
  readonly count: number;
  readonly perRankLists?: { readonly gpu: GpuSpec };
}

/** Collectives a runtime sends `elements` as in buckets of `bucketElements` (null: one per unit). */
export function bucketCount(elements: number, units: number, bucketElements: number | null): number {
  return Math.max(1, bucketElements === null ? units : Math.ceil(elements / bucketElements));
}

/** `bytes` of one collective kind sent as `count` (≥ 1) equal collectives, each paying its own latency. */
function inPiecesSec(kind: CollectiveKind, axis: MeshAxis, bytes: number, count: number): number {
  return count * collectiveSec(kind, axis, bytes / count);
}

/*
 * What a list collective of DeepSpeed before v0.5.5 adds to the collective itself. Host work for each
 * rank, one eager PyTorch op apiece: an all-gather narrows each rank's slice of the output in Python
 * (`_allgather_param`) and ProcessGroupNCCL copies each piece out of its flat buffer; a reduce-scatter
 * takes a view and a narrow of each rank's slice of the gradient (`_reduce_scatter_gradient`) and
 * ProcessGroupNCCL copies each into its flat buffer. Each op costs the catalog's per-kernel
 * KERNEL_LAUNCH_SEC: PyTorch's operator microbenchmarks of the time put an eager view op (split) at
 * 3.3 µs (pytorch/pytorch#32194), and the device waits for them (`torch.cuda.synchronize()` before
 * each gather). And the copies' bytes through HBM: an all-gather zero-fills the whole tensor first
 * (`torch.zeros`) and the pieces are copied out of the flat buffer (read and write), 3 × its bytes;
 * a reduce-scatter copies them in, 2 ×.
 */
const LIST_OPS_PER_RANK = { 'all-gather': 2, 'reduce-scatter': 3 } as const;
const LIST_HBM_PASSES = { 'all-gather': 3, 'reduce-scatter': 2 } as const;

/** `bytes` of `count` list collectives of one kind over `axis`: the collectives, host ops and copies. */
function listCollectiveSec(
  kind: 'all-gather' | 'reduce-scatter',
  axis: MeshAxis,
  bytes: number,
  count: number,
  gpu: GpuSpec,
): number {
  return (
    inPiecesSec(kind, axis, bytes, count) +
    count * axis.size * LIST_OPS_PER_RANK[kind] * KERNEL_LAUNCH_SEC +
    memoryBoundSec(LIST_HBM_PASSES[kind] * bytes, gpu)
  );
}

/**
 * Data-parallel gradient traffic per device. ZeRO 0 all-reduces the whole gradient once per step, or
 * at every microbatch where the runtime reduces each accumulation step (DDP without pipelining:
 * `every-microbatch`); ZeRO 1 (Megatron's distributed optimizer) reduce-scatters it once per step and
 * all-gathers the updated parameters; ZeRO 2 reduce-scatters after every microbatch's backward and
 * gathers parameters once; ZeRO 3 also gathers parameters before every forward and backward. How
 * much of it each pass hides is the stage's to price (stage.ts): a runtime that overlaps the gradient
 * reduction overlaps the per-microbatch traffic the same way (FSDP2, Megatron-FSDP and DeepSpeed's ZeRO
 * with `overlap_comm` prefetch the next layer's parameters and reduce a layer's gradients while other
 * layers compute); one that reduces after the backward (`after-backward`) waits for each.
 *
 * The runtime sends its bucketed traffic (gradient reductions, ZeRO 1–2's gathers) in buckets of
 * `bucketElements` (null: one per unit) and ZeRO-3's unit by unit, `units.count` of them (layers, as
 * FSDP wraps blocks, or parameter tensors, as DeepSpeed before v0.5.5 gathered them). Each collective
 * pays its own latency, (n − 1) ring steps, which at thousands of devices outweighs the bytes of a
 * small layer (torchtitan's reason to add tensor parallelism past a few hundred GPUs). The defaults
 * send everything as one collective. Gradients go as `gradientReduceBytes` a element (the runtime's
 * reduction dtype), parameters as bf16 but for `quantized.elements` of them, quantized GEMMs' weights
 * gathered in their format at `quantized.elementBytes` an element (quantized-gemm.ts).
 */
export function dataParallelSec(
  elements: number,
  zero: ZeroStage,
  axis: MeshAxis,
  reduction: GradientReduction,
  bucketElements: number | null = Number.POSITIVE_INFINITY,
  units: CollectiveUnits = { count: 1 },
  gradientReduceBytes = GRADIENT_BYTES,
  quantized: { readonly elements: number; readonly elementBytes: number } | null = null,
): DataParallelTraffic {
  if (axis.size <= 1 || elements <= 0) return NONE;
  const gradBytes = elements * gradientReduceBytes;
  const weightBytes =
    quantized === null
      ? elements * WEIGHT_BYTES
      : (elements - quantized.elements) * WEIGHT_BYTES + quantized.elements * quantized.elementBytes;
  if (zero === 3) {
    // ZeRO-3 gathers and reduces unit by unit.
    const count = Math.max(1, units.count);
    const lists = units.perRankLists;
    const unitGather =
      lists === undefined
        ? inPiecesSec('all-gather', axis, weightBytes, count)
        : listCollectiveSec('all-gather', axis, weightBytes, count, lists.gpu);
    const unitScatter =
      lists === undefined
        ? inPiecesSec('reduce-scatter', axis, gradBytes, count)
        : listCollectiveSec('reduce-scatter', axis, gradBytes, count, lists.gpu);
    return {
      ...NONE,
      forwardPerMicrobatchSec: unitGather,
      backwardPerMicrobatchSec: unitGather + unitScatter,
    };
  }
  const buckets = bucketCount(elements, units.count, bucketElements);
  if (zero === 0 || (zero === 1 && reduction === 'every-microbatch')) {
    const allReduce = inPiecesSec('all-reduce', axis, gradBytes, buckets);
    return reduction === 'every-microbatch'
      ? { ...NONE, backwardPerMicrobatchSec: allReduce }
      : { ...NONE, perStepSec: allReduce };
  }
  const scatter = inPiecesSec('reduce-scatter', axis, gradBytes, buckets);
  const gather = inPiecesSec('all-gather', axis, weightBytes, buckets);
  return zero === 1
    ? { ...NONE, perStepSec: scatter, perStepGatherSec: gather }
    : { ...NONE, perStepGatherSec: gather, backwardPerMicrobatchSec: scatter };
}

/**
 * The overlap term of DESIGN.md §4: with bucketed reduction, a layer's gradients travel while the
 * layers before it run their last backward pass (and with prefetching, a layer's parameters while the
 * layer before it runs its pass), so only what exceeds that window — and at least one layer's share —
 * stays exposed. No traffic exposes nothing.
 */
export function exposedGradientSec(
  syncSec: number,
  windowSec: number,
  layers: number,
  overlap: boolean,
): number {
  if (!overlap) return syncSec;
  return Math.max(syncSec / Math.max(1, layers), syncSec - windowSec);
}
