import { GRADIENT_BYTES } from '../../cost/memory.ts';
import { precisionFormat } from '../../cost/quantized-gemm.ts';
/** JAX runs any mesh and any PartitionSpecs (DESIGN.md §9): every plan meshplan makes but a context-parallel ring. */
import {
  type Framework,
  firstProblem,
  flexDispatcherProblem,
  megatronOnlyModelProblems,
  perOpRecomputeProblem,
  quantizedParamGatherProblem,
  recomputeModulesProblem,
  unprefetchedZero3Problem,
} from '../framework.ts';

export const JAX_RELEASE = 'JAX (jax.sharding: Mesh, NamedSharding, PartitionSpec)';

export const jax: Framework = {
  name: 'jax',
  anyLayout: true,
  release: JAX_RELEASE,
  builds: (model) => firstProblem(megatronOnlyModelProblems(model, 'JAX')),
  /*
   * GSPMD splits the sequence like any dim and all-gathers keys and values where attention needs
   * them (cpCommType 'allgather'), or reshards sequence ↔ heads with all-to-alls ('a2a'); a ring of
   * point-to-point sends is a hand-written kernel, not a sharding.
   */
  runs: (shape) =>
    firstProblem([
      shape.cp > 1 && shape.cpCommType === 'p2p'
        ? `context parallelism over a ring of point-to-point sends is not a GSPMD sharding; plan with parallel.cpCommType 'allgather' or 'a2a' for JAX`
        : null,
      // The export writes jax.checkpoint around whole blocks or the attention core, no module list.
      ...megatronOnlyModelProblems(shape.model, 'JAX'),
      recomputeModulesProblem(shape, 'JAX'),
      perOpRecomputeProblem(shape, 'JAX'),
      flexDispatcherProblem(shape, 'JAX'),
      quantizedParamGatherProblem(shape, 'JAX'),
      unprefetchedZero3Problem(shape, 'XLA'),
    ]),
  // XLA runs collectives asynchronously: gradient reductions overlap the backward pass.
  runtime: (shape, requested) => ({
    gradientReduction: requested.overlapGradReduce === false ? 'after-backward' : 'overlapped',
    // Sharded parameters are gathered where the forward first uses them, scheduled asynchronously too.
    paramGatherOverlap: requested.overlapGradReduce !== false,
    // XLA emits each layer's reductions as its own ops (scanned layers).
    gradientBucketElements: null,
    tensorParallelOverlap: requested.overlapTensorParallelComm ?? false,
    // Only XLA's latency-hiding scheduler would move a reduction past the independent weight-gradient
    // dot, and the export sets no XLA flags: priced as the default schedule runs it, in order.
    inputGradientOverlap: false,
    expertParallelOverlap: requested.overlapExpertParallelComm ?? false,
    // The export shards, and leaves dtypes to the user's train step: priced as bf16 gradients.
    gradientReduceBytes: 2,
    heldGradientBytes: GRADIENT_BYTES,
    // The export leaves FP8 to the user's dot_general; priced as a cached copy and transpose.
    quantizedWeightCacheBytes: precisionFormat(shape.precision)?.weightCopyBytes ?? 0,
    zero3Collectives: 'per-layer',
    // XLA gathers a rematerialised block's parameters once for its recomputation and backward.
    zero3RegatherAfterRecompute: false,
  }),
  stageCuts: () => null,
};
