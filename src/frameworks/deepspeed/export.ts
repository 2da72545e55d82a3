/**
 * A plan as DeepSpeed v0.16.4 runs it: ds_config.json (batch, precision, ZeRO and the pipeline
 * engine's checkpointing keys, every one read by that release) and train_deepspeed.py, which
 * builds the `PipelineModule` whose own partitioning gives the planned stages.
 */
import { paramElements } from '../../graph/graph.ts';
import type { PlannedLayer } from '../../model/planned.ts';
import type { Exports, ZeroStage } from '../../schema/index.ts';
import type { ExportContext } from '../context.ts';
import type { RequestedOverlaps } from '../framework.ts';
import { shapeOfPlan } from '../shape.ts';
import { type LayerClass, methodForBlocks, pipelineLayers } from './layer-list.ts';
import { DEEPSPEED_RELEASE, deepspeed, overlapComm } from './rules.ts';
import { deepspeedScript } from './script.ts';

type DeepSpeedExport = Exports['deepspeed'];

/**
 * `zero_optimization` (runtime/zero/config.py): the stage, and from stage 1 on the overlap the
 * plan priced (explicit, since stage 3 defaults it on and stages 1–2 off) and contiguous gradient
 * buckets (the default, said so); stage 2 reduce-scatters as priced (its default too).
 */
function zeroSection(
  zero: ZeroStage,
  overlap: boolean,
  largestLayer: number,
  prefetch: boolean,
): Record<string, number | boolean> {
  if (zero === 0) return { stage: 0 };
  return {
    stage: zero,
    overlap_comm: overlap,
    contiguous_gradients: true,
    ...(zero >= 2 ? { reduce_scatter: true } : {}),
    ...(zero === 3 ? stage3Prefetch(largestLayer, prefetch) : {}),
  };
}

/**
 * ZeRO-3 as priced gathers the next layer while one runs and holds both whole
 * (cost/memory.ts zero3WorkingSet): a prefetch bucket of the largest layer's parameters
 * (stage3_prefetch_bucket_size, default 5e7, less than one transformer block of a large model) and
 * room for two of them live (stage3_max_live_parameters, default 1e9), in parameter elements.
 *
 * It also prices two gathers of each layer per microbatch (cost/data-parallel.ts): the forward's,
 * and the backward's, which a recomputed layer shares with its recomputation. v0.16.4 releases a
 * submodule's parameters after each use unless the trace shows them used again within
 * stage3_max_reuse_distance elements (default 1e9; partitioned_param_coordinator.py
 * `__params_to_release`). Between a parameter's use in the recomputation and in the backward lie the
 * layer's other submodules, each at most twice — under twice the layer — so that distance keeps the
 * recomputed layer for its backward. At the default, that rule releases a block of more than half a
 * billion parameters (GPT-3 175B's 1.8 billion) between the two, and only the prefetcher's marks
 * could save the third gather.
 *
 * Without prefetching (a plan that fits only so: one layer held, its gathers waited for) the bucket
 * is 0, which v0.16.4 reads as no prefetch (`if self.__prefetch_bucket_sz > 0`).
 */
function stage3Prefetch(largestLayer: number, prefetch: boolean): Record<string, number> {
  return {
    stage3_prefetch_bucket_size: prefetch ? largestLayer : 0,
    stage3_max_live_parameters: Math.max(1e9, 2 * largestLayer),
    stage3_max_reuse_distance: Math.max(1e9, 2 * largestLayer),
  };
}

/** The most trained parameters one layer of the model holds (DeepSpeed's layers are not tensor-split). */
function largestLayerElements(layers: readonly PlannedLayer[]): number {
  return Math.max(0, ...layers.map((layer) => paramElements(layer.graph)));
}

function requestedOverlaps(ctx: ExportContext): RequestedOverlaps {
  const asked = ctx.request.parallel?.overlapGradReduce;
  return asked === undefined ? {} : { overlapGradReduce: asked };
}

function notExpressible(problems: readonly string[]): DeepSpeedExport {
  return {
    expressible: false,
    release: DEEPSPEED_RELEASE,
    config: {},
    pipelineModule: null,
    files: [],
    notes: problems.map((p) => `Not expressible in ${DEEPSPEED_RELEASE}: ${p}.`),
  };
}

function reductionNote(pp: number, zero: ZeroStage, overlap: boolean): string {
  if (pp > 1) {
    return "Gradients: the pipeline engine all-reduces them once, after the last microbatch's backward pass (ReduceGrads), as priced.";
  }
  if (zero === 0)
    return 'Gradients: without ZeRO the engine all-reduces them after the backward pass, as priced.';
  return overlap
    ? 'Gradients: overlap_comm reduces them bucket by bucket during the backward pass, as priced.'
    : 'Gradients: overlap_comm is off as requested; they are reduced after the backward pass.';
}

export function deepspeedExport(ctx: ExportContext): DeepSpeedExport {
  const { summary, request, dims } = ctx;
  const shape = shapeOfPlan(ctx);
  const verdict = deepspeed.runs(shape);
  const problems = [
    ...(verdict.ok ? [] : [verdict.reason]),
    ...(ctx.batchProblem === null ? [] : [ctx.batchProblem]),
  ];
  if (problems.length > 0) return notExpressible(problems);

  const { pp, dp, microbatches, recompute } = summary;
  const { zero } = shape;
  const overlap = overlapComm(shape, requestedOverlaps(ctx));
  const config: Record<string, unknown> = {
    train_batch_size: request.training.globalBatch,
    train_micro_batch_size_per_gpu: ctx.rankMicroBatch,
    gradient_accumulation_steps: microbatches,
    [request.training.precision]: { enabled: true },
    zero_optimization: zeroSection(
      zero,
      overlap,
      largestLayerElements(ctx.model.layers),
      shape.zero3Prefetch,
    ),
  };
  const notes = [
    `World: ${pp} stage(s) x ${dp} data-parallel ranks = ${ctx.devices} GPUs; train_batch_size ${request.training.globalBatch} = micro batch ${ctx.rankMicroBatch} x ${microbatches} accumulation steps x ${dp} ranks.`,
    reductionNote(pp, zero, overlap),
  ];
  let pipelineModule: DeepSpeedExport['pipelineModule'] = null;
  const checkpointInterval = recompute === 'full' ? 1 : 0;
  // Full recomputation redoes the transformer blocks, as Megatron-LM's does and as the plan prices it.
  const checkpointableLayers: LayerClass[] | null = recompute === 'full' ? ['TransformerBlock'] : null;
  if (pp > 1 && dims !== null) {
    // runs() accepted the cut, so one of the partition methods gives it.
    const chosen = methodForBlocks(dims, ctx.blocks)!;
    pipelineModule = {
      num_stages: pp,
      partition_method: chosen.method,
      activation_checkpoint_interval: checkpointInterval,
      checkpointable_layers: checkpointableLayers,
      parts: [...chosen.parts],
    };
    if (recompute === 'full') {
      // pipe/engine.py reads these (use_reentrant false: PyTorch's non-reentrant checkpoint); the
      // layers they cover are the script's checkpointable_layers.
      config.pipeline = { activation_checkpoint_interval: 1, use_reentrant: false };
      notes.push(
        'Full recomputation: each transformer block is checkpointed (checkpointable_layers); the embedding, final norm and head run once, as priced. DeepSpeed computes the loss outside the layers, so the last stage also keeps the bf16 logits of each microbatch in flight beside the fp32 softmax the plan counts.',
      );
    }
    notes.push(
      `Pipeline: PipelineModule(num_stages=${pp}, partition_method="${chosen.method}") splits the ${dims.layers + 3} layers (embedding, ${dims.layers} blocks, final norm, head) at ${chosen.parts.join(', ')}: ${ctx.blocks.join(', ')} blocks per stage, as planned (pipeline.stages in the config is not read).`,
    );
    if (chosen.method === 'parameters') {
      notes.push(
        "partition_method 'parameters' gives this split only if each layer class holds the parameters train_deepspeed.py lists; the script checks the split.",
      );
    }
  } else if (recompute === 'full') {
    notes.push(
      'Full recomputation: the model runs each transformer block through deepspeed.checkpointing (see the script).',
    );
  }
  if (recompute === 'selective') {
    notes.push(
      'Selective recomputation has no DeepSpeed switch: the transformer block checkpoints its attention core itself (see the script).',
    );
  }
  const script = deepspeedScript({
    dims,
    modelName:
      dims?.name ?? (request.model.kind === 'graph' ? (request.model.graph.name ?? 'graph') : 'model'),
    devices: ctx.devices,
    pp,
    dp,
    microBatch: ctx.rankMicroBatch,
    recompute,
    pipeline:
      pipelineModule === null || dims === null
        ? null
        : {
            layers: pipelineLayers(dims),
            method: pipelineModule.partition_method,
            parts: pipelineModule.parts,
            checkpointInterval,
            checkpointableLayers,
          },
  });
  return {
    expressible: true,
    release: DEEPSPEED_RELEASE,
    config,
    pipelineModule,
    files: [
      {
        path: 'ds_config.json',
        description: `${DEEPSPEED_RELEASE} config: pass it as --deepspeed_config`,
        content: `${JSON.stringify(config, null, 2)}\n`,
      },
      {
        path: 'train_deepspeed.py',
        description: 'training script: the model wrapped as planned, deepspeed.initialize, the training loop',
        content: script,
      },
    ],
    notes,
  };
}
