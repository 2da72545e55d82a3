/**
 * The rules Megatron-LM core_v0.19.0 enforces on a parsed command line, written from its source
 * (megatron/training/arguments.py validate_args; megatron/core/model_parallel_config.py and
 * megatron/core/transformer/transformer_config.py __post_init__; PipelineParallelLayerLayout;
 * the interleaved schedule; MoELayer.forward). Independent of the exporter.
 */
import type { Namespace } from './megatron-oracle.ts';

const get = (ns: Namespace, dest: string) => ns.values.get(dest);
const num = (ns: Namespace, dest: string): number | null => {
  const v = get(ns, dest);
  return typeof v === 'string' ? Number(v) : null;
};
const on = (ns: Namespace, dest: string, fallback = false): boolean => {
  const v = get(ns, dest);
  return typeof v === 'boolean' ? v : fallback;
};

/** PipelineParallelLayerLayout.parse_str_to_list: one string of layer letters per virtual stage. */
export function layoutStages(layout: string): string[] {
  const unrolled = layout
    .replaceAll(',', '')
    .replace(/\(([^)]+)\)\*(\d+)/g, (_, x: string, n: string) => x.repeat(Number(n)))
    .replace(/(.)\*(\d+)/g, (_, x: string, n: string) => x.repeat(Number(n)));
  return unrolled.split('|');
}

const count = (s: string, c: string) => [...s].filter((x) => x === c).length;

/** The virtual stages per rank the pipeline arguments give, and what they break. */
function pipelineProblems(ns: Namespace, layers: number, pp: number, out: string[]): number {
  const layout = get(ns, 'pipeline_model_parallel_layout');
  const perChunk = num(ns, 'num_layers_per_virtual_pipeline_stage');
  const chunks = num(ns, 'num_virtual_stages_per_pipeline_rank');
  const first = num(ns, 'decoder_first_pipeline_num_layers');
  const last = num(ns, 'decoder_last_pipeline_num_layers');
  if ([layout, perChunk, chunks].filter((x) => x !== undefined && x !== null).length > 1) {
    out.push('more than one of the virtual pipeline arguments');
  }
  let vpp = 1;
  if (typeof layout === 'string') {
    const stages = layoutStages(layout);
    const flat = stages.join('');
    if (stages.length % pp !== 0) out.push(`layout of ${stages.length} stages for pp ${pp}`);
    vpp = stages.length / pp;
    if (!/^[EtL]*$/.test(flat)) out.push(`layout letters ${flat}`);
    if (flat[0] !== 'E' || flat.at(-1) !== 'L') out.push('layout must open with E and close with L');
    if (count(flat, 'E') !== 1 || count(flat, 'L') !== 1) out.push('layout needs one E and one L');
    if (count(flat, 't') !== layers) out.push(`layout holds ${count(flat, 't')} blocks, not ${layers}`);
    if (first !== null || last !== null) out.push('layout with first/last stage sizes');
  } else if (perChunk !== null) {
    if (first !== null || last !== null)
      out.push('--num-layers-per-virtual-pipeline-stage with uneven stages');
    if (layers % pp !== 0 || (layers / pp) % perChunk !== 0)
      out.push('chunk size does not divide the stages');
    vpp = layers / pp / perChunk;
  } else if (chunks !== null) {
    vpp = chunks;
  } else if (first === null && last === null && layers % pp !== 0) {
    out.push(`${layers} layers do not split evenly over pp ${pp}`);
  }
  if (first !== null || last !== null) {
    let middleLayers = layers;
    let middleStages = pp;
    for (const n of [first, last]) {
      if (n === null) continue;
      if (n <= 0 || n % vpp !== 0) out.push(`first/last stage of ${n} layers with ${vpp} chunks`);
      middleLayers -= n;
      middleStages -= 1;
    }
    if (middleLayers > 0 !== middleStages > 0) out.push('middle layers without middle stages');
    if (
      middleStages > 0 &&
      (middleLayers % middleStages !== 0 || (middleLayers / middleStages) % vpp !== 0)
    ) {
      out.push('middle stages are not even');
    }
  }
  return vpp;
}

/**
 * What Megatron refuses in this command line run on `world` ranks with CUDA_DEVICE_MAX_CONNECTIONS
 * `connections` (null: unset), on a GPU before Blackwell.
 */
export function ruleProblems(ns: Namespace, world: number, connections: string | null): string[] {
  const out: string[] = [];
  for (const dest of ['num_layers', 'hidden_size', 'num_attention_heads', 'max_position_embeddings']) {
    if (num(ns, dest) === null) out.push(`${dest} is required`);
  }
  const tp = num(ns, 'tensor_model_parallel_size') ?? 1;
  const pp = num(ns, 'pipeline_model_parallel_size') ?? 1;
  const cp = num(ns, 'context_parallel_size') ?? 1;
  if (world % (tp * pp * cp) !== 0) out.push(`world ${world} is not a multiple of tp·pp·cp`);
  const dp = world / (tp * pp * cp);
  const micro = num(ns, 'micro_batch_size') ?? Number.NaN;
  const global = num(ns, 'global_batch_size') ?? micro * dp;
  if (global % (micro * dp) !== 0) out.push(`global batch ${global} is not a multiple of micro batch · dp`);
  const microbatches = global / (micro * dp);
  const sp = on(ns, 'sequence_parallel');
  if (sp && tp === 1) out.push('--sequence-parallel needs tp > 1');
  const heads = num(ns, 'num_attention_heads') ?? Number.NaN;
  const groups = on(ns, 'group_query_attention') ? (num(ns, 'num_query_groups') ?? heads) : heads;
  if (heads % tp !== 0) out.push('heads do not divide over tp');
  if (groups % tp !== 0 && tp % groups !== 0) out.push('query groups neither a multiple nor a divisor of tp');

  const layers = num(ns, 'num_layers') ?? Number.NaN;
  const vpp = pipelineProblems(ns, layers, pp, out);
  if (vpp > 1) {
    // overlap_p2p_comm is on unless --no-overlap-p2p-communication.
    if (pp < (on(ns, 'overlap_p2p_comm', true) ? 2 : 3))
      out.push('interleaving with too few pipeline stages');
    if (microbatches < pp || microbatches % pp !== 0) out.push(`${microbatches} microbatches for pp ${pp}`);
  }

  const experts = num(ns, 'num_experts');
  if (experts !== null) {
    const etp = num(ns, 'expert_tensor_parallel_size') ?? tp;
    if (on(ns, 'add_bias_linear', true) && etp !== 1) out.push('MoE with biases needs etp 1');
    if (tp > 1 && !sp) out.push('MoE with tp > 1 needs sequence parallelism');
    if (experts % (num(ns, 'expert_model_parallel_size') ?? 1) !== 0)
      out.push('experts do not divide over ep');
  }
  if (on(ns, 'moe_pad_expert_input_to_capacity') && num(ns, 'moe_expert_capacity_factor') === null) {
    out.push('padding to capacity needs a capacity factor');
  }

  const granularity = get(ns, 'recompute_granularity');
  const method = get(ns, 'recompute_method');
  const recomputed = num(ns, 'recompute_num_layers');
  if (granularity === 'full' && (method === undefined || recomputed === null || recomputed < 1)) {
    out.push('full recompute needs a method and a layer count');
  }
  if (granularity === 'selective' && (method !== undefined || recomputed !== null)) {
    out.push('selective recompute takes no method or layer count');
  }

  const fsdp = on(ns, 'use_megatron_fsdp');
  if (on(ns, 'overlap_param_gather')) {
    if (!on(ns, 'overlap_grad_reduce')) out.push('--overlap-param-gather needs --overlap-grad-reduce');
    if (!on(ns, 'use_distributed_optimizer') && !fsdp)
      out.push('--overlap-param-gather needs a sharded optimizer');
  }
  if (on(ns, 'tp_comm_overlap') && !sp) out.push('--tp-comm-overlap needs sequence parallelism');
  const checkpoint = get(ns, 'ckpt_format');
  if (fsdp && checkpoint !== 'fsdp_dtensor') out.push('Megatron-FSDP needs --ckpt-format fsdp_dtensor');
  if (!fsdp && checkpoint === 'fsdp_dtensor') out.push('fsdp_dtensor is for Megatron-FSDP only');
  if (fsdp && connections === '1') out.push('Megatron-FSDP refuses CUDA_DEVICE_MAX_CONNECTIONS=1');
  if (!fsdp && (tp > 1 || cp > 1) && connections !== '1')
    out.push('tp > 1 needs CUDA_DEVICE_MAX_CONNECTIONS=1');

  const seq = num(ns, 'seq_length') ?? 0;
  if ((num(ns, 'max_position_embeddings') ?? 0) < seq) out.push('max position embeddings below the sequence');
  if (on(ns, 'bf16') && on(ns, 'fp16')) out.push('bf16 and fp16 together');
  if (on(ns, 'mock_data') && get(ns, 'data_path') !== undefined) out.push('two data sources');
  return out;
}
