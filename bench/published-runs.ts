import type { PlanRequestInput } from '../src/schema/index.ts';
import {
  activationOf,
  catalogGpu,
  gradReduceOverlapped,
  interNodeGBpsOf,
  megatronOfYear,
  networkText,
  nodesOf,
  precisionOf,
  publicationYear,
  recomputeOf,
  refuseUnpricedPrecision,
  stageSplitOf,
  tpCommOverlapOf,
  withStatedMemoryBandwidth,
  zero3CollectivesOfYear,
  zeroStageOf,
} from './record-facts.ts';
import type { PublishedRun } from './record-schema.ts';

/**
 * Whether the record's TFLOP/s count the recompute forward pass (hardware FLOPs): SC'21's eq. 3
 * does; the Megatron README and most others report model FLOPs.
 */
export function countsRecompute(run: PublishedRun): boolean {
  return /eq\. 3|hardware|includes recompute|\bHFU\b/i.test(run.measured.tflops_kind ?? '');
}

/**
 * The published configuration as a meshplan request. What a record leaves unsaid follows Megatron-LM
 * of its year (record-facts.ts `megatronOfYear`): SC'21 (2021) ran the eager attention with no
 * distributed optimizer, gradients reduced after the backward and input gradients reduced in order;
 * the Megatron README's H100 runs (2024) use the distributed optimizer, sequence parallelism with TP,
 * fused attention and the overlaps. Recomputation is what the record states (none when it does not),
 * the microbatch 1 where unstated (documented in bench/README), Transformer Engine's TP overlap where
 * the record names --tp-comm-overlap.
 */
export function publishedRequest(run: PublishedRun): PlanRequestInput {
  const m = run.model;
  const p = run.parallelism;
  const t = run.training;
  const year = publicationYear(run.source);
  const era = megatronOfYear(year);
  refuseUnpricedPrecision(run.id, 'training.precision', t.precision);
  const zero = zeroStageOf(run.id, t.zero_stage, era.distributedOptimizer ? 1 : 0);
  const gpu = withStatedMemoryBandwidth(
    catalogGpu(run.id, run.cluster.gpu_type, run.cluster.gpu_memory_gb ?? null),
    `${run.cluster.gpu_type} ${run.cluster.notes ?? ''}`,
  );
  const nodes = nodesOf(gpu, run.cluster.num_gpus, run.cluster.gpus_per_node);
  return {
    model: {
      kind: 'transformer',
      name: run.id,
      layers: m.layers,
      hidden: m.hidden,
      heads: m.heads,
      ...(m.kv_heads !== null ? { kvHeads: m.kv_heads } : {}),
      ...(m.ffn_hidden !== null ? { ffnHidden: m.ffn_hidden } : {}),
      vocab: m.vocab,
      seqLen: m.seq_len,
      activation: m.activation ? activationOf(run.id, m.activation) : 'gelu',
      attention: era.attention,
    },
    cluster: {
      gpu,
      ...nodes,
      interNodeGBps: interNodeGBpsOf(gpu, networkText(run.cluster), nodes.gpusPerNode),
    },
    training: {
      globalBatch: t.global_batch_size_sequences,
      precision: precisionOf(t.precision, gpu),
      optimizer: 'adam',
    },
    parallel: {
      tp: p.tp,
      pp: p.pp,
      dp: p.dp,
      microBatch: t.micro_batch_size ?? 1,
      virtualStages: p.virtual_pp ?? 1,
      ...stageSplitOf(m.layers, p.pp, p.virtual_pp ?? 1, 'megatron'),
      recompute: recomputeOf(t.recompute),
      zero,
      ...(zero === 3 ? { zero3Collectives: zero3CollectivesOfYear(year) } : {}),
      sequenceParallel: (p.sp ?? era.sequenceParallel) && p.tp > 1,
      overlapGradReduce: gradReduceOverlapped(year, p.pp > 1, zero),
      overlapTensorParallelComm: tpCommOverlapOf(t.notes ?? '') ?? false,
      // SC'21's Megatron (examples/sc21 at 6985e58938, August 2021) all-reduced the input gradient
      // synchronously (mpu/mappings.py); the asynchronous one came in September 2021.
      overlapInputGradientReduce: era.overlapInputGradientReduce,
    },
  };
}
