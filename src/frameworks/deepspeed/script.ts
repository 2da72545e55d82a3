/**
 * The training script of a DeepSpeed export (train_deepspeed.py): how the user's model is wrapped,
 * with the pipeline's `PipelineModule` built so that DeepSpeed's own partitioning gives the planned
 * stages, and `deepspeed.initialize` reading ds_config.json. The layer classes are the user's; the
 * script names what each must hold and checks the split DeepSpeed computed.
 */
import type { TransformerDims } from '../../model/dims.ts';
import type { Recompute } from '../../schema/index.ts';
import type { PipelineLayer } from './layer-list.ts';
import { DEEPSPEED_RELEASE } from './rules.ts';

export interface ScriptFacts {
  readonly dims: TransformerDims | null;
  readonly modelName: string;
  readonly devices: number;
  readonly pp: number;
  readonly dp: number;
  readonly microBatch: number;
  readonly recompute: Recompute;
  /** With a pipeline: the layer list, the method that splits it as planned, DeepSpeed's boundaries. */
  readonly pipeline: {
    readonly layers: readonly PipelineLayer[];
    readonly method: string;
    readonly parts: readonly number[];
    readonly checkpointInterval: number;
    readonly checkpointableLayers: readonly string[] | null;
  } | null;
}

/** A Python literal of a JSON-like value (strings, numbers, booleans, null, flat objects). */
function py(
  value: string | number | boolean | null | Readonly<Record<string, string | number | null>>,
): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number' || typeof value === 'string') return JSON.stringify(value);
  return `{${Object.entries(value)
    .map(([k, v]) => `${JSON.stringify(k)}: ${py(v)}`)
    .join(', ')}}`;
}

const count = (n: number) => n.toLocaleString('en-US');

/** The priced model as the dict the layer classes are built from. */
function modelDict(d: TransformerDims): string {
  const entries: [string, string][] = [
    ['name', py(d.name)],
    ['layers', py(d.layers)],
    ['hidden', py(d.hidden)],
    ['heads', py(d.heads)],
    ['kv_heads', py(d.kvHeads)],
    ['head_dim', py(d.headDim)],
    ['ffn_hidden', py(d.ffnHidden)],
    ['vocab', py(d.vocab)],
    ['seq_len', py(d.seqLen)],
    ['activation', py(d.activation)],
    ['norm', py(d.norm)],
    ['position_embedding', py(d.positionEmbedding)],
    ['bias', py(d.bias)],
    // The priced model uses Megatron's 0.1 wherever it has dropout.
    ['dropout', d.dropout ? '0.1' : '0.0'],
    ['tied_embeddings', py(d.tiedEmbeddings)],
    ['flash_attention', py(d.flashAttention)],
    // Keys a windowed query sees (itself and size − 1 before it; None: the whole sequence), and
    // every how many blocks one attends fully (None: none does); the model's blocks must attend so.
    ['sliding_window', py(d.slidingWindow?.size ?? null)],
    ['full_attention_every', py(d.slidingWindow?.fullAttentionEvery ?? null)],
    // Which fused kernel the plan priced: FlashAttention-2's, or the GPU's own (cuDNN's on Hopper).
    [
      'flash_attention_kernel',
      py(d.flashAttention ? (d.flashAttention2 ? 'flash-attention-2' : 'fused') : null),
    ],
    // Whether the priced gated activation is one fused kernel keeping only the gate and up projections
    // (False: SiLU and product apart, the SiLU output kept too, as eager PyTorch runs them).
    ['fused_activation', py(d.activationFusion)],
    // Whether the priced RMSNorm is one kernel (False: eager torch.nn.RMSNorm, aten's composite of
    // kernels; TransformerSpec.normFusion).
    ['fused_norm', py(d.normFusion)],
    [
      'moe',
      py(
        d.moe === null
          ? null
          : {
              experts: d.moe.experts,
              top_k: d.moe.topK,
              // Each routed expert's FFN, the shared experts every token also runs (their FFN each),
              // and the leading blocks that keep a dense MLP.
              ffn_hidden: d.moe.ffnHidden,
              shared_experts: d.moe.sharedExperts,
              shared_ffn_hidden: d.moe.sharedFfnHidden,
              dense_layers: d.moe.denseLayers,
              capacity_factor: d.moe.capacityFactor,
              // Where the priced model scales routed tokens: in the experts' activation, or their outputs.
              router_weights: d.moe.routerWeights,
            },
      ),
    ],
    // Multi-head latent attention's sizes where the priced model has it (None: q, k, v heads).
    [
      'mla',
      py(
        d.mla === null
          ? null
          : {
              q_lora_rank: d.mla.qLoraRank,
              kv_lora_rank: d.mla.kvLoraRank,
              qk_nope_head_dim: d.mla.qkNopeHeadDim,
              qk_rope_head_dim: d.mla.qkRopeHeadDim,
              v_head_dim: d.mla.vHeadDim,
            },
      ),
    ],
    // Multi-token prediction modules after the last block, and whether one module runs at every depth.
    ['mtp_layers', py(d.mtpLayers)],
    ['mtp_repeated_layer', py(d.mtpRepeatedLayer)],
    ['dtype', py(d.precision === 'bf16' ? 'bfloat16' : 'float16')],
  ];
  return ['MODEL = {', ...entries.map(([k, v]) => `    ${JSON.stringify(k)}: ${v},`), '}'].join('\n');
}

const RECOMPUTE_COMMENT: Readonly<Record<Recompute, string | null>> = {
  none: null,
  selective:
    '# Selective recomputation (priced): DeepSpeed has no switch for it; TransformerBlock must run its\n# attention core (softmax(q k^T / sqrt(d)) v) through deepspeed.checkpointing.non_reentrant_checkpoint.',
  // The rules refuse it (exportOf then replaces the files with the reason).
  'per-op': "# Per-op recomputation: torchtitan's policy, which DeepSpeed has no setting for.",
  full: '# Full recomputation (priced): every transformer block keeps only its input and is run again in the\n# backward pass; the embedding, final norm and head keep what their backward needs.',
};

function layerLines(layers: readonly PipelineLayer[], blocks: number): string[] {
  const block = layers[1]!;
  const tail = layers.slice(-2);
  const spec = (l: PipelineLayer, extra = '') =>
    l.tied ? `TiedLayerSpec("embed", Embedding, MODEL${extra})` : `LayerSpec(${l.className}, MODEL${extra})`;
  return [
    'layers = [',
    `    ${spec(layers[0]!)},  # ${count(layers[0]!.parameters)} parameters`,
    `    *[LayerSpec(TransformerBlock, MODEL, i) for i in range(${blocks})],  # ${count(block.parameters)} parameters each`,
    `    ${spec(tail[0]!)},  # ${count(tail[0]!.parameters)} parameters`,
    tail[1]!.tied
      ? `    ${spec(tail[1]!, ', forward_fn=lm_logits')},  # the embedding's module again: logits from its table`
      : `    ${spec(tail[1]!)},  # ${count(tail[1]!.parameters)} parameters`,
    ']',
  ];
}

function pipelineLines(f: ScriptFacts, pipeline: NonNullable<ScriptFacts['pipeline']>): string[] {
  const blocks = f.dims!.layers;
  return [
    ...layerLines(pipeline.layers, blocks),
    'model = PipelineModule(',
    '    layers=layers,',
    `    num_stages=${f.pp},`,
    `    partition_method=${py(pipeline.method)},`,
    '    loss_fn=loss_fn,',
    // The engine reads the same interval from ds_config.json's pipeline section, with use_reentrant.
    `    activation_checkpoint_interval=${pipeline.checkpointInterval},`,
    // Without it every layer with parameters is checkpointed (pipe/module.py _is_checkpointable).
    ...(pipeline.checkpointableLayers === null
      ? []
      : [`    checkpointable_layers=[${pipeline.checkpointableLayers.map((c) => py(c)).join(', ')}],`]),
    ')',
    '# DeepSpeed computed the stage split itself (pipe/module.py _partition_layers): it must be the planned one.',
    `assert model.partitions() == [${pipeline.parts.join(', ')}], model.partitions()`,
  ];
}

function singleLines(f: ScriptFacts): string[] {
  const what =
    f.dims === null
      ? `# Your model: the operator graph "${f.modelName}", as one nn.Module.`
      : `# Embedding, ${f.dims.layers} transformer blocks, final norm and LM head, built from MODEL.`;
  const recompute =
    f.recompute === 'full'
      ? [
          '# Model.forward must run each transformer block (not the embedding, the final norm or the head)',
          '# through deepspeed.checkpointing.non_reentrant_checkpoint.',
        ]
      : [];
  return [what, ...recompute, f.dims === null ? 'model = Model()' : 'model = Model(MODEL)'];
}

function trainLoop(f: ScriptFacts): string[] {
  if (f.pipeline !== null) {
    return [
      'data = iter(batches())  # (tokens, labels) microbatches',
      'for step in range(TRAIN_STEPS):',
      '    # gradient_accumulation_steps microbatches through the pipeline, one gradient reduction, one step',
      '    loss = engine.train_batch(data_iter=data)',
    ];
  }
  return [
    'data = iter(batches())  # (tokens, labels) microbatches',
    'for step in range(TRAIN_STEPS):',
    '    for _ in range(engine.gradient_accumulation_steps()):',
    '        tokens, labels = next(data)',
    '        loss = engine(tokens, labels)',
    '        engine.backward(loss)',
    '        engine.step()  # steps the optimizer at the accumulation boundary only',
  ];
}

/** train_deepspeed.py for the plan. */
export function deepspeedScript(f: ScriptFacts): string {
  const pipelined = f.pipeline !== null;
  const imports = pipelined
    ? [
        'from deepspeed.pipe import LayerSpec, PipelineModule, TiedLayerSpec',
        '',
        `from model import (  # your model code\n    Embedding,\n    FinalNorm,\n    ${f.dims!.tiedEmbeddings ? 'lm_logits' : 'LMHead'},\n    TransformerBlock,\n    TRAIN_STEPS,\n    batches,\n    loss_fn,\n    make_optimizer,\n)`,
      ]
    : ['', 'from model import TRAIN_STEPS, Model, batches, make_optimizer  # your model code'];
  const recompute = RECOMPUTE_COMMENT[f.recompute];
  const lines = [
    `"""${DEEPSPEED_RELEASE} training of ${f.modelName} as meshplan planned it: ${f.pp} pipeline stage(s) x ${f.dp} data-parallel ranks = ${f.devices} GPUs.`,
    '',
    'Launch it on every node with the DeepSpeed launcher:',
    '    deepspeed --hostfile HOSTFILE train_deepspeed.py --deepspeed --deepspeed_config ds_config.json',
    'ds_config.json holds the batch, precision and ZeRO settings. From your code (module `model`):',
    pipelined
      ? 'the layer classes (each built from MODEL, mapping one tensor to the next), loss_fn(logits, labels),'
      : 'Model (built from MODEL), returning the loss from (tokens, labels),',
    `make_optimizer(params) (Adam: the plan prices its fp32 state), batches() yielding microbatches of`,
    `${f.microBatch} sequence(s) per GPU, and TRAIN_STEPS.`,
    '"""',
    '',
    'import argparse',
    '',
    'import deepspeed',
    ...imports,
    '',
    ...(f.dims === null ? [] : [modelDict(f.dims), '']),
    'parser = argparse.ArgumentParser()',
    'parser.add_argument("--local_rank", type=int, default=-1)  # passed by the DeepSpeed launcher',
    'args = deepspeed.add_config_arguments(parser).parse_args()',
    'deepspeed.init_distributed()',
    '',
    ...(recompute === null ? [] : [recompute]),
    ...(f.pipeline !== null ? pipelineLines(f, f.pipeline) : singleLines(f)),
    '',
    'engine, _, _, _ = deepspeed.initialize(',
    '    args=args,',
    '    model=model,',
    '    model_parameters=[p for p in model.parameters() if p.requires_grad],',
    '    optimizer=make_optimizer,',
    ')',
    ...trainLoop(f),
  ];
  return `${lines.join('\n')}\n`;
}
