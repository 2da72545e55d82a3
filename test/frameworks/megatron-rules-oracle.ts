/**
 * The rules Megatron-LM core_v0.19.0 enforces on a parsed command line, written from its source
 * (megatron/training/arguments.py validate_args; megatron/core/model_parallel_config.py and
 * megatron/core/transformer/transformer_config.py __post_init__; PipelineParallelLayerLayout;
 * the interleaved schedule; MoELayer.forward). Independent of the exporter.
 */
import { hybridLayers, moeLayerFreq, type Namespace } from './megatron-oracle.ts';

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

/** hybrid_layer_specs.py's training stack, the module and variable --spec names for pretrain_hybrid.py. */
const HYBRID_STACK_SPEC = ['megatron.core.models.hybrid.hybrid_layer_specs', 'hybrid_stack_spec'];

/** Arguments validate_args refuses beside --hybrid-layer-pattern: its `|` segments are the layout. */
const PATTERN_EXCLUDES = [
  'num_layers_per_virtual_pipeline_stage',
  'num_virtual_stages_per_pipeline_rank',
  'pipeline_model_parallel_layout',
  'account_for_embedding_in_pipeline_split',
  'account_for_loss_in_pipeline_split',
];

/**
 * A hybrid model's stages (validate_args, hybrid_layer_allocation.py select_pipeline_segment): the
 * pattern's `|` segments, a multiple of pp of them, segment k·pp + i on rank i's chunk k; a pattern
 * without `|` is cut at build time into pp even parts (or uneven first/last ones). Returns the
 * virtual stages per rank.
 */
function hybridPipelineProblems(ns: Namespace, pp: number, out: string[]): number {
  const main = String(get(ns, 'hybrid_layer_pattern')).split('/')[0]!;
  const segments = main.split('|');
  const layers = segments.join('').length;
  const first = num(ns, 'decoder_first_pipeline_num_layers');
  const last = num(ns, 'decoder_last_pipeline_num_layers');
  for (const dest of PATTERN_EXCLUDES) {
    const v = get(ns, dest);
    if (v !== undefined && v !== false) out.push(`${dest} with --hybrid-layer-pattern`);
  }
  const given = num(ns, 'num_layers');
  if (given !== null && given !== layers)
    out.push(`--num-layers ${given} is overridden by the pattern's ${layers}`);
  if (!/^[MG*D+E-]*$/.test(segments.join(''))) out.push(`pattern symbols ${main}`);
  if (main.includes('*') && (main.includes('+') || main.includes('D')))
    out.push('attention and MLA/DSA layers in one pattern');
  if (segments.length > 1) {
    if (first !== null || last !== null) out.push('first/last stage sizes with a piped pattern');
    if (segments.length % pp !== 0) out.push(`${segments.length} pattern segments for pp ${pp}`);
    return segments.length / pp;
  }
  if (pp > 1 && first === null && last === null && layers % pp !== 0)
    out.push(`${layers} pattern layers do not split evenly over pp ${pp}`);
  return 1;
}

/** MambaMixer's asserts on the sizes (TransformerConfig's mamba_* defaults where not given). */
function mambaProblems(ns: Namespace, tp: number, out: string[]): void {
  const cp = num(ns, 'context_parallel_size') ?? 1;
  if (!hybridLayers(ns)?.includes('M')) return;
  const hidden = num(ns, 'hidden_size') ?? Number.NaN;
  const headDim = num(ns, 'mamba_head_dim') ?? 64;
  const heads = num(ns, 'mamba_num_heads') ?? (2 * hidden) / headDim;
  const groups = num(ns, 'mamba_num_groups') ?? 8;
  const state = num(ns, 'mamba_state_dim') ?? 128;
  if (heads % tp !== 0) out.push('Mamba heads do not divide over tp');
  if (groups % tp !== 0) out.push('Mamba groups do not divide over tp');
  if (heads % groups !== 0) out.push('Mamba heads do not divide into groups');
  // MambaContextParallel.__init__: nheads_local_tp % cp, then ngroups_local_tp against cp.
  const localHeads = heads / tp;
  const localGroups = groups / tp;
  if (cp > 1 && localHeads % cp !== 0) out.push('Mamba heads do not divide over tp·cp');
  if (cp > 1 && localGroups < cp && cp % localGroups !== 0)
    out.push('cp is no multiple of a tp rank’s Mamba groups');
  if (cp > 1 && localGroups >= cp && localGroups % cp !== 0)
    out.push('a tp rank’s Mamba groups do not divide over cp');
  if (get(ns, 'fp8') !== undefined && (2 * heads * headDim + 2 * groups * state + heads) % 16 !== 0)
    out.push("FP8 needs the Mamba input projection's width to be a multiple of 16");
}

/** What pretrain_hybrid.py needs beside the pipeline: a spec, and no schedule HybridModel lacks. */
function hybridModelProblems(ns: Namespace, tp: number, out: string[]): void {
  const spec = get(ns, 'spec');
  // hybrid_builders.py raises without --spec; the training stack is hybrid_layer_specs.py's.
  if (!Array.isArray(spec) || spec.join(' ') !== HYBRID_STACK_SPEC.join(' '))
    out.push(`--spec ${Array.isArray(spec) ? spec.join(' ') : ''} is not the hybrid training stack`);
  if (hybridLayers(ns)?.includes('*') && on(ns, 'multi_latent_attention'))
    out.push("the pattern's * layers are plain self-attention, not --multi-latent-attention");
  // combined_1f1b.py builds its schedule through build_schedule_plan, which HybridModel lacks.
  if (on(ns, 'overlap_moe_expert_parallel_comm')) out.push('EP overlap needs build_schedule_plan');
  mambaProblems(ns, tp, out);
}

/** The virtual stages per rank the pipeline arguments give, and what they break. */
function pipelineProblems(ns: Namespace, layers: number, pp: number, out: string[]): number {
  if (hybridLayers(ns) !== null) return hybridPipelineProblems(ns, pp, out);
  const mtp = num(ns, 'mtp_num_layers') ?? 0;
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
    if (!/^[EtmL]*$/.test(flat)) out.push(`layout letters ${flat}`);
    // validate_layer_layout: every MTP layer after the decoder layers, all in one (the last) entry.
    if (count(flat, 'm') !== mtp) out.push(`layout holds ${count(flat, 'm')} MTP layers, not ${mtp}`);
    if (mtp > 0 && flat.lastIndexOf('t') > flat.indexOf('m')) out.push('a decoder layer after an MTP layer');
    if (mtp > 0 && count(stages.at(-1) ?? '', 'm') !== mtp) out.push('MTP layers split over stages');
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
  // validate_args derives num_layers from a hybrid pattern before it requires one.
  const patternLayers = hybridLayers(ns)?.length ?? null;
  for (const dest of ['hidden_size', 'num_attention_heads', 'max_position_embeddings']) {
    if (num(ns, dest) === null) out.push(`${dest} is required`);
  }
  if (patternLayers === null && num(ns, 'num_layers') === null) out.push('num_layers is required');
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

  const layers = patternLayers ?? num(ns, 'num_layers') ?? Number.NaN;
  const vpp = pipelineProblems(ns, layers, pp, out);
  if (patternLayers !== null) hybridModelProblems(ns, tp, out);
  if (vpp > 1) {
    // overlap_p2p_comm is on unless --no-overlap-p2p-communication.
    if (pp < (on(ns, 'overlap_p2p_comm', true) ? 2 : 3))
      out.push('interleaving with too few pipeline stages');
    if (microbatches < pp || microbatches % pp !== 0) out.push(`${microbatches} microbatches for pp ${pp}`);
  }

  const seq = num(ns, 'seq_length') ?? 0;
  contextProblems(ns, { tp, cp, heads, groups, seq, sp }, out);
  expertProblems(ns, { world, tp, pp, sp, layers }, out);
  attentionProblems(ns, out);

  const granularity = get(ns, 'recompute_granularity');
  const method = get(ns, 'recompute_method');
  const recomputed = num(ns, 'recompute_num_layers');
  if (granularity === 'full' && (method === undefined || recomputed === null || recomputed < 1)) {
    out.push('full recompute needs a method and a layer count');
  }
  if (granularity === 'selective' && (method !== undefined || recomputed !== null)) {
    out.push('selective recompute takes no method or layer count');
  }
  if (granularity === 'selective') recomputeModuleProblems(ns, out);
  // TransformerConfig.__post_init__ (flex_dispatcher_backend defaults to deepep; hybridep pads).
  if (
    get(ns, 'moe_token_dispatcher_type') === 'flex' &&
    (get(ns, 'moe_flex_dispatcher_backend') ?? 'deepep') === 'deepep' &&
    on(ns, 'moe_pad_expert_input_to_capacity')
  )
    out.push('Flex token dispatcher with deepep backend does not support moe_pad_expert_input_to_capacity');

  const fsdp = on(ns, 'use_megatron_fsdp');
  if (on(ns, 'overlap_param_gather')) {
    if (!on(ns, 'overlap_grad_reduce')) out.push('--overlap-param-gather needs --overlap-grad-reduce');
    if (!on(ns, 'use_distributed_optimizer') && !fsdp)
      out.push('--overlap-param-gather needs a sharded optimizer');
  }
  if (on(ns, 'tp_comm_overlap') && !sp) out.push('--tp-comm-overlap needs sequence parallelism');
  // validate_args: "--fp8-param-gather only supported with distributed optimizer, torch fsdp2, megatron fsdp".
  if (on(ns, 'fp8_param_gather') && !on(ns, 'use_distributed_optimizer') && !fsdp)
    out.push('--fp8-param-gather needs the distributed optimizer or an FSDP');
  if (on(ns, 'fp8_param_gather') && get(ns, 'fp8') === undefined) out.push('--fp8-param-gather without FP8');
  // validate_args: FP4 and FP8 are mutually exclusive; --fp4-param-gather must come with --fp4-format.
  if (get(ns, 'fp4') !== undefined && get(ns, 'fp8') !== undefined)
    out.push('--fp4-format with --fp8-format');
  if (on(ns, 'fp4_param_gather') && get(ns, 'fp4') === undefined) out.push('--fp4-param-gather without FP4');
  // TransformerConfig.__post_init__, under fp8 only: at most num_layers // pp first or last layers
  // in bf16, whose counts default to 1 each.
  if (get(ns, 'fp8') !== undefined && on(ns, 'first_last_layers_bf16')) {
    // A hybrid stack's layers are its pattern's symbols (validate_args sets num_layers from it).
    const layers = hybridLayers(ns)?.length ?? num(ns, 'num_layers') ?? 0;
    const perStage = Math.floor(layers / (num(ns, 'pipeline_model_parallel_size') ?? 1));
    for (const dest of ['num_layers_at_start_in_bf16', 'num_layers_at_end_in_bf16']) {
      const n = num(ns, dest) ?? 1;
      if (n < 0 || n > perStage) out.push(`${dest} ${n} outside 0..num_layers // pp = ${perStage}`);
    }
  }
  const checkpoint = get(ns, 'ckpt_format');
  if (fsdp && checkpoint !== 'fsdp_dtensor') out.push('Megatron-FSDP needs --ckpt-format fsdp_dtensor');
  if (!fsdp && checkpoint === 'fsdp_dtensor') out.push('fsdp_dtensor is for Megatron-FSDP only');
  if (fsdp && connections === '1') out.push('Megatron-FSDP refuses CUDA_DEVICE_MAX_CONNECTIONS=1');
  if (!fsdp && (tp > 1 || cp > 1) && connections !== '1')
    out.push('tp > 1 needs CUDA_DEVICE_MAX_CONNECTIONS=1');

  if ((num(ns, 'max_position_embeddings') ?? 0) < seq) out.push('max position embeddings below the sequence');
  if (on(ns, 'bf16') && on(ns, 'fp16')) out.push('bf16 and fp16 together');
  const gated = ['swiglu', 'squared_relu', 'quick_geglu'].filter((a) => on(ns, a));
  if (gated.length > 1) out.push(`${gated.join(' and ')} together`);
  // TransformerConfig: a fused activation takes glu_linear_offset only as the quick GeGLU; the
  // bias-activation fusion follows --bias-swiglu-fusion for SwiGLU, --bias-gelu-fusion (off without
  // biases) otherwise (argument_utils.py).
  const fused = on(ns, 'swiglu')
    ? get(ns, 'bias_swiglu_fusion') !== false
    : get(ns, 'bias_gelu_fusion') !== false && get(ns, 'add_bias_linear') !== false;
  if (fused && Number(get(ns, 'glu_linear_offset') ?? 0) !== 0 && !on(ns, 'quick_geglu'))
    out.push('a fused activation with glu_linear_offset that is not the quick GeGLU');
  overlapMoeProblems(ns, { pp, vpp, layers }, out);
  if (on(ns, 'mock_data') && get(ns, 'data_path') !== undefined) out.push('two data sources');
  return out;
}

interface ContextFacts {
  readonly tp: number;
  readonly cp: number;
  readonly heads: number;
  readonly groups: number;
  readonly seq: number;
  readonly sp: boolean;
}

/**
 * Context parallelism: validate_args (2·cp chunks per sequence, a2a+p2p needs hierarchical sizes),
 * TransformerConfig (one type, or one per layer), and Transformer Engine's attention (the all-to-all
 * scatters each tp rank's query and key/value heads over cp; not in its unfused backend).
 */
function contextProblems(ns: Namespace, f: ContextFacts, out: string[]): void {
  const types = get(ns, 'cp_comm_type') ?? ['p2p'];
  const list = typeof types === 'string' ? [types] : Array.isArray(types) ? types : [];
  for (const t of list)
    if (!['p2p', 'a2a', 'allgather', 'a2a+p2p'].includes(t)) out.push(`cp_comm_type ${t}`);
  if (list.includes('a2a+p2p') && get(ns, 'hierarchical_context_parallel_sizes') === undefined)
    out.push('a2a+p2p needs --hierarchical-context-parallel-sizes');
  if (f.cp === 1) return;
  if (list.length !== 1 && list.length !== (num(ns, 'num_layers') ?? 0))
    out.push('one cp_comm_type per layer');
  if (f.seq % (2 * f.cp) !== 0) out.push(`seq length ${f.seq} is not a multiple of 2·cp`);
  if (f.sp && (f.seq / f.cp) % f.tp !== 0) out.push("a cp rank's tokens do not split over tp");
  if (get(ns, 'attention_backend') === 'unfused') out.push('context parallelism in unfused attention');
  const kv = on(ns, 'multi_latent_attention') ? f.heads : f.groups;
  if (list.includes('a2a') && ((f.heads / f.tp) % f.cp !== 0 || (kv / f.tp) % f.cp !== 0))
    out.push("a2a needs each tp rank's heads to divide over cp");
  // Transformer Engine v2.8 attn_forward_func_with_cp asserts a sliding window runs over a2a or all_gather.
  if (get(ns, 'window_size') !== undefined && list.some((t) => t !== 'a2a' && t !== 'allgather'))
    out.push('a sliding window under context parallelism needs cp_comm_type a2a or allgather');
}

interface ExpertFacts {
  readonly world: number;
  readonly tp: number;
  readonly pp: number;
  readonly sp: boolean;
  readonly layers: number;
}

/** MoE: validate_args, TransformerConfig, parallel_state's expert grid and the MoE layer. */
function expertProblems(ns: Namespace, f: ExpertFacts, out: string[]): void {
  const experts = num(ns, 'num_experts');
  const ep = num(ns, 'expert_model_parallel_size') ?? 1;
  const etp = num(ns, 'expert_tensor_parallel_size') ?? f.tp;
  if (experts === null) {
    if (ep > 1) out.push('expert parallelism without experts');
    if (get(ns, 'moe_ffn_hidden_size') !== undefined) out.push('--moe-ffn-hidden-size without experts');
    return;
  }
  if (on(ns, 'add_bias_linear', true) && etp !== 1) out.push('MoE with biases needs etp 1');
  if (f.tp > 1 && !f.sp) out.push('MoE with tp > 1 needs sequence parallelism');
  if (experts % ep !== 0) out.push('experts do not divide over ep');
  if (f.world % (etp * ep * f.pp) !== 0) out.push('world is not a multiple of etp·ep·pp');
  const freq = get(ns, 'moe_layer_freq');
  if (typeof freq === 'string' && !/^\d+$/.test(freq) && moeLayerFreq(freq, f.layers).length !== f.layers)
    out.push('moe_layer_freq pattern length is not the layer count');
  const capacity = num(ns, 'moe_expert_capacity_factor');
  if (on(ns, 'moe_pad_expert_input_to_capacity') && capacity === null) {
    out.push('padding to capacity needs a capacity factor');
  }
  if ((num(ns, 'moe_router_topk') ?? 2) === 1 && !on(ns, 'moe_router_pre_softmax'))
    out.push('top-1 softmax routing needs --moe-router-pre-softmax');
}

/** validate_args: MLA excludes GQA; MLATransformerConfig: fused RoPE in MLA needs YaRN. */
function attentionProblems(ns: Namespace, out: string[]): void {
  const mla = on(ns, 'multi_latent_attention');
  const rope = get(ns, 'position_embedding_type') === 'rope';
  const ropeType = get(ns, 'rope_type');
  if (mla && on(ns, 'group_query_attention')) out.push('MLA with group query attention');
  if (!mla && ropeType !== undefined && ropeType !== 'rope') out.push('YaRN rope type without MLA');
  const fusion = on(ns, 'apply_rope_fusion', true) && rope;
  if (mla && fusion && (ropeType ?? 'yarn') !== 'yarn') out.push('MLA rope fusion needs YaRN');
}

/** TransformerConfig's conditions for --overlap-moe-expert-parallel-comm. */
function overlapMoeProblems(
  ns: Namespace,
  f: { readonly pp: number; readonly vpp: number; readonly layers: number },
  out: string[],
): void {
  if (!on(ns, 'overlap_moe_expert_parallel_comm')) return;
  if ((num(ns, 'expert_model_parallel_size') ?? 1) < 2) out.push('EP overlap needs ep > 1');
  if (!['alltoall', 'flex'].includes(String(get(ns, 'moe_token_dispatcher_type') ?? 'allgather')))
    out.push('EP overlap needs the alltoall or flex dispatcher');
  if (f.pp > 1 && f.vpp < 2) out.push('EP overlap with pp > 1 needs virtual pipeline stages');
  if (get(ns, 'recompute_granularity') === 'full' || get(ns, 'recompute_method') !== undefined)
    out.push('EP overlap with full recomputation');
  if (!on(ns, 'bf16') && !on(ns, 'fp16')) out.push('EP overlap needs bf16 or fp16');
  if ((num(ns, 'mtp_num_layers') ?? 0) > 1) out.push('EP overlap with more than one MTP layer');
}

/** TransformerConfig.__post_init__'s checks of recompute_modules (core_v0.19.0). */
function recomputeModuleProblems(ns: Namespace, out: string[]): void {
  const listed = ns.values.get('recompute_modules');
  const modules = Array.isArray(listed) ? listed : ['core_attn'];
  if (modules.includes('moe_act') && !on(ns, 'moe_grouped_gemm'))
    out.push('moe_act in recompute_modules is only supported with moe_grouped_gemm');
  if (modules.includes('mla_up_proj') && !on(ns, 'multi_latent_attention'))
    out.push('mla_up_proj in recompute_modules is only supported with multi_latent_attention');
  if (modules.includes('shared_experts') && on(ns, 'moe_shared_expert_overlap'))
    out.push('shared_experts recompute cannot work with --moe-shared-expert-overlap');
}
