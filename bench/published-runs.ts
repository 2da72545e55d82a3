import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PlanRequestInput } from '../src/schema/index.ts';

/** A reference record's model shape, as both reference files spell it. */
export interface ReferenceModelShape {
  layers: number;
  hidden: number;
  heads: number;
  kv_heads: number | null;
  ffn_hidden: number | null;
  seq_len: number;
  vocab: number;
}

/** One record of ../shared/reference/published-runs.json, the fields meshplan reads. */
export interface PublishedRun {
  readonly id: string;
  readonly model: ReferenceModelShape;
  readonly cluster: { gpu_type: string; num_gpus: number; gpus_per_node: number | null };
  readonly training: {
    global_batch_size_sequences: number;
    micro_batch_size: number | null;
    recompute: string | null;
  };
  readonly parallelism: { tp: number; pp: number; dp: number; virtual_pp: number | null };
  readonly measured: { tflops_per_gpu: number; tflops_kind: string };
}

const REFERENCE = fileURLToPath(new URL('../../shared/reference/published-runs.json', import.meta.url));

export function loadPublishedRuns(path = REFERENCE): PublishedRun[] {
  return JSON.parse(readFileSync(path, 'utf8')) as PublishedRun[];
}

/** SC'21 counts the recompute forward pass (eq. 3); the Megatron README reports model FLOPs. */
export function countsRecompute(run: PublishedRun): boolean {
  return run.measured.tflops_kind.includes('eq. 3');
}

/** Every run here is on 8-GPU nodes (DGX A100 / DGX H100); the README table leaves the field empty. */
const GPUS_PER_NODE = 8;

function gpuOf(run: PublishedRun): string {
  return run.cluster.gpu_type.includes('H100') ? 'H100-80GB' : 'A100-80GB';
}

/**
 * The published configuration as a meshplan request. What the sources leave unsaid follows the
 * framework's defaults of the time: SC'21 ran full recomputation with no distributed optimizer; the
 * Megatron README's H100 runs use the distributed optimizer and sequence parallelism with TP, no
 * recomputation, microbatch 1 (stated nowhere: documented in bench/README).
 */
export function publishedRequest(run: PublishedRun): PlanRequestInput {
  const m = run.model;
  const sc21 = countsRecompute(run);
  const p = run.parallelism;
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
      activation: 'gelu',
      // SC'21 predates FlashAttention; the README's runs use Transformer Engine's fused attention.
      attention: sc21 ? 'eager' : 'flash',
    },
    cluster: { gpu: gpuOf(run), nodes: run.cluster.num_gpus / GPUS_PER_NODE, gpusPerNode: GPUS_PER_NODE },
    training: { globalBatch: run.training.global_batch_size_sequences, precision: 'bf16', optimizer: 'adam' },
    parallel: {
      tp: p.tp,
      pp: p.pp,
      dp: p.dp,
      microBatch: run.training.micro_batch_size ?? 1,
      virtualStages: p.virtual_pp ?? 1,
      recompute: sc21 ? 'full' : 'none',
      zero: sc21 ? 0 : 1,
      sequenceParallel: !sc21 && p.tp > 1,
      // The README's runs pass --overlap-grad-reduce; SC'21's Megatron reduced after the backward.
      overlapGradReduce: !sc21,
      overlapTensorParallelComm: !sc21,
      // SC'21's Megatron (examples/sc21 at 6985e58938, August 2021) all-reduced the input gradient
      // synchronously (mpu/mappings.py); the asynchronous one came in September 2021.
      overlapInputGradientReduce: !sc21,
    },
  };
}
