import type { Exports } from '../../schema/index.ts';
import type { ExportContext } from '../context.ts';
import { DEEPSPEED_RELEASE } from './rules.ts';

type DeepSpeedExport = Exports['deepspeed'];

/**
 * A DeepSpeed config for the plan. DeepSpeed's JSON holds batch, precision, ZeRO and
 * checkpointing settings; tensor and pipeline parallelism live in code (Megatron-DeepSpeed's
 * arguments, `PipelineModule(num_stages=…)`), so the notes say what goes there.
 */
export function deepspeedExport(ctx: ExportContext): DeepSpeedExport {
  const { summary, layout, request, blocks } = ctx;
  const { tp, pp, zero } = summary;
  const problems: string[] = [];
  const notes: string[] = [];
  const config: Record<string, unknown> = {
    train_batch_size: request.training.globalBatch,
    train_micro_batch_size_per_gpu: ctx.rankMicroBatch,
    gradient_accumulation_steps: summary.microbatches,
    [request.training.precision]: { enabled: true },
    zero_optimization: { stage: zero },
  };
  if (summary.recompute !== 'none') {
    // These settings tune deepspeed.checkpointing; what gets recomputed is the model code's call.
    config.activation_checkpointing = {
      partition_activations: false,
      contiguous_memory_optimization: false,
      cpu_checkpointing: false,
    };
    notes.push(
      summary.recompute === 'full'
        ? 'Full recomputation: wrap each transformer block in deepspeed.checkpointing.checkpoint.'
        : 'Selective recomputation (the attention core only) has no DeepSpeed switch: the model code must checkpoint just that part.',
    );
  }
  if (pp > 1) {
    config.pipeline = { stages: pp };
    notes.push(
      `Pipeline: build a PipelineModule(num_stages=${pp}); gradient_accumulation_steps is its microbatch count.`,
    );
    if (blocks.length > 0 && blocks.some((n) => n !== blocks[0])) {
      problems.push(
        `the plan splits the blocks unevenly (${blocks.join(', ')} per stage), which PipelineModule's partition methods (uniform, parameters, type:) do not produce`,
      );
    }
    if (zero >= 2)
      problems.push(`ZeRO-${zero} is incompatible with DeepSpeed's pipeline engine (stages 0 and 1 only)`);
    if (summary.virtualStages > 1) {
      notes.push(
        'DeepSpeed has no interleaved schedule: it runs plain 1F1B, with a larger bubble than planned.',
      );
    }
  }
  // Without tensor parallelism every mesh axis must split only the batch: the same check, tp = 1.
  problems.push(...layout.megatronProblems);
  if (tp > 1) {
    notes.push(
      `DeepSpeed's own tensor parallelism (AutoTP) is limited: tp = ${tp} needs Megatron-DeepSpeed with --tensor-model-parallel-size ${tp} --pipeline-model-parallel-size ${pp}${summary.sequenceParallel ? ' --sequence-parallel' : ''}, this file as its --deepspeed_config.`,
    );
    if (ctx.dims === null) {
      problems.push(
        'Megatron-DeepSpeed trains GPT-style models; a general graph needs its own tensor-parallel code',
      );
    }
  }
  if (ctx.batchProblem !== null) problems.push(ctx.batchProblem);
  return {
    expressible: problems.length === 0,
    release: DEEPSPEED_RELEASE,
    config,
    pipelineModule: null,
    files: [],
    notes: [...problems.map((p) => `Not expressible in DeepSpeed: ${p}.`), ...notes],
  };
}
