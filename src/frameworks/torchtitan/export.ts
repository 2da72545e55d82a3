import type { Exports, ScheduleKind, Summary } from '../../schema/index.ts';
import type { ExportContext } from '../context.ts';
import { virtualStageBlocks } from '../pipeline-split.ts';
import { TORCHTITAN_RELEASE } from './rules.ts';

type TorchtitanExport = Exports['torchtitan'];

const SCHEDULES: Readonly<Record<ScheduleKind, string>> = {
  '1f1b': '1F1B',
  gpipe: 'GPipe',
  interleaved: 'Interleaved1F1B',
};

/**
 * ZeRO as FSDP2 settings. Megatron's distributed optimizer (ZeRO-1/2) reduce-scatters gradients
 * and all-gathers parameters once per step: FSDP that keeps parameters gathered after the
 * forward pass does the same traffic and holds no more memory. ZeRO-3 regathers per pass.
 */
function dataParallel(summary: Summary): { settings: Record<string, unknown>; note: string | null } {
  const { dp, zero } = summary;
  if (zero === 0) {
    return { settings: { data_parallel_replicate_degree: dp, data_parallel_shard_degree: 1 }, note: null };
  }
  const reshard = zero === 3 ? 'always' : 'never';
  return {
    settings: {
      data_parallel_replicate_degree: 1,
      data_parallel_shard_degree: dp,
      fsdp_reshard_after_forward: reshard,
    },
    note:
      zero === 3
        ? null
        : `ZeRO-${zero} maps to FSDP that keeps parameters gathered after the forward pass (fsdp_reshard_after_forward = "never"), the closest setting: no more memory than planned, gradients reduce-scattered.`,
  };
}

/** Module names where each pipeline stage after the first begins ("layers.N"), or why there are none. */
function splitPoints(blocks: readonly number[], virtualStages: number): string[] | string {
  const chunks = virtualStageBlocks(blocks, virtualStages);
  if (chunks === null) {
    return `the interleaved schedule needs each stage's blocks (${blocks.join(', ')}) to divide into ${virtualStages} chunks`;
  }
  if (chunks.slice(1).some((n) => n === 0)) {
    return `a pipeline stage after the first holds no transformer block (${chunks.join(', ')} per virtual stage), and split points name blocks`;
  }
  const points: string[] = [];
  let offset = 0;
  for (const n of chunks.slice(0, -1)) {
    offset += n;
    points.push(`layers.${offset}`);
  }
  return points;
}

/** torchtitan job-config sections (TOML tables as nested objects) for the plan. */
export function torchtitanExport(ctx: ExportContext): TorchtitanExport {
  const { summary, dims, layout, request } = ctx;
  const { tp, pp } = summary;
  const problems: string[] = [];
  const notes: string[] = [];
  if (dims === null) problems.push('it trains its own model definitions; a general operator graph has none');
  problems.push(...layout.megatronProblems);
  if (ctx.batchProblem !== null) problems.push(ctx.batchProblem);

  const dataParallelism = dataParallel(summary);
  if (dataParallelism.note !== null) notes.push(dataParallelism.note);
  const parallelism: Record<string, unknown> = {
    ...dataParallelism.settings,
    tensor_parallel_degree: tp,
    enable_async_tensor_parallel: false,
    pipeline_parallel_degree: pp,
  };
  // Pipelined, a rank's batch is all its microbatches; without a pipeline they are accumulation steps.
  let localBatch = ctx.rankMicroBatch;
  if (pp > 1) {
    localBatch = ctx.rankMicroBatch * summary.microbatches;
    parallelism.pipeline_parallel_schedule = SCHEDULES[summary.schedule];
    parallelism.pipeline_parallel_microbatch_size = ctx.rankMicroBatch;
    if (dims !== null) {
      const points = splitPoints(ctx.blocks, summary.virtualStages);
      if (typeof points === 'string') problems.push(points);
      else parallelism.pipeline_parallel_split_points = points;
    }
  }
  const activationCheckpoint: Record<string, unknown> = { mode: summary.recompute };
  if (summary.recompute === 'selective') {
    activationCheckpoint.selective_ac_option = 'op';
    notes.push(
      "torchtitan's op-level selective checkpointing follows its own save list (every other matmul), not exactly the attention core the plan recomputes.",
    );
  }
  if (tp > 1 && !summary.sequenceParallel) {
    notes.push(
      "torchtitan's tensor parallelism always splits norms and dropout along the sequence (sequence parallelism); the plan does not, so torchtitan holds less activation memory than planned.",
    );
  }
  if (dims !== null && (dims.activation !== 'swiglu' || dims.norm !== 'rmsnorm')) {
    notes.push(
      'torchtitan ships Llama-family models (RMSNorm, SwiGLU): this model needs its own model definition.',
    );
  }
  if (request.training.precision === 'fp16') {
    notes.push(
      'torchtitan keeps parameters in bf16 (mixed_precision_param); fp16 is not offered, and has the same bytes.',
    );
  }
  notes.push(...layout.placementNotes.map((n) => `Placement: ${n}.`));
  return {
    expressible: problems.length === 0,
    release: TORCHTITAN_RELEASE,
    files: [],
    config: {
      parallelism,
      activation_checkpoint: activationCheckpoint,
      training: {
        local_batch_size: localBatch,
        global_batch_size: request.training.globalBatch,
        ...(dims === null ? {} : { seq_len: dims.seqLen }),
        mixed_precision_param: 'bfloat16',
      },
    },
    notes: [...problems.map((p) => `Not expressible in torchtitan: ${p}.`), ...notes],
  };
}
