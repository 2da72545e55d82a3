/** What a Megatron-LM user should know about an expressible export: how it maps, what it assumes. */
import { paramGatherAsked } from '../../cost/quantized-gemm.ts';
import { cpCommTypeOf, type MoeDims, type TransformerDims } from '../../model/dims.ts';
import type { CpCommType } from '../../schema/index.ts';
import type { ExportContext } from '../context.ts';
import { argv } from './args.ts';
import { bf16LayerArgs } from './model-args.ts';

export interface ExportFacts {
  readonly groupedGemm: boolean;
  readonly tensorParallelOverlap: boolean;
  readonly expertParallelOverlap: boolean;
  /** The request asked for expert all-to-alls hidden behind compute (parallel.overlapExpertParallelComm). */
  readonly expertParallelOverlapAsked: boolean;
}

/** How pretrain_hybrid.py builds the hybrid model, and what it needs installed. */
function hybridNotes(ctx: ExportContext, dims: TransformerDims, facts: ExportFacts): string[] {
  const { pp, virtualStages: v } = ctx.summary;
  const notes = [
    `pretrain_hybrid.py builds Megatron-Core's HybridModel from hybrid_layer_specs.py's hybrid_stack_spec (--spec), one layer per symbol of --hybrid-layer-pattern (M Mamba-2, ${dims.mla === null ? '* attention' : '+ multi-latent attention'}, - MLP, E MoE), each behind its own norm; validate_args counts the ${dims.layers} layers from the pattern, so no --num-layers is given.`,
  ];
  if (pp > 1) {
    notes.push(
      `Each |-separated segment of the pattern is one ${v > 1 ? `virtual pipeline stage (segment k·${pp} + i is model chunk k of rank i)` : 'pipeline stage'}: validate_args takes the stages from the segments and refuses every other pipeline-layout argument with a pattern.`,
    );
  }
  if (dims.mamba !== null) {
    notes.push(
      'The Mamba-2 mixers run the mamba-ssm package’s fused convolution and chunked scan (mamba_split_conv1d_scan_combined) and causal-conv1d: install both (MambaMixer raises ImportError without mamba-ssm). Their convolution has 4 taps and their scan chunks of 128 tokens, as planned.',
    );
  }
  if (facts.expertParallelOverlapAsked && dims.moe !== null && ctx.summary.ep > 1) {
    notes.push(
      "--overlap-moe-expert-parallel-comm is not given: its combined 1F1B schedule builds each step through the model's build_schedule_plan, which HybridModel does not have at this release; the expert all-to-alls run exposed (as a plan for target megatron prices them).",
    );
  }
  return notes;
}

export function megatronNotes(ctx: ExportContext, facts: ExportFacts): string[] {
  const { summary, dims, blocks } = ctx;
  const { tp, pp, dp, cp, virtualStages: v } = summary;
  if (dims === null) return [];
  const notes = [
    `Run the launch script (megatron-launch.sh) on every node: Megatron-LM derives the data-parallel size from the world size, ${ctx.devices} / (tp ${tp}${cp > 1 ? ` × cp ${cp}` : ''} × pp ${pp}) = ${dp}.`,
    `--padded-vocab-size ${dims.vocab} gives the embedding and the output layer exactly ${dims.vocab} rows (otherwise Megatron pads the tokenizer's vocabulary to a multiple of 128 × tp); the script's synthetic tokenizer has ${dims.vocab} tokens, and a real tokenizer must have at most that many.`,
  ];
  if (dims.precision !== 'fp16') {
    notes.push(
      "Gradients are kept and reduced in bf16 (--grad-reduce-in-bf16), the 2 bytes per parameter planned; Megatron's bf16 default accumulates and reduces them in fp32.",
    );
  }
  if (dims.hybridPattern !== null) notes.push(...hybridNotes(ctx, dims, facts));
  if (pp > 1 && blocks.some((n) => n !== blocks[0])) {
    const what = dims.hybridPattern === null ? 'transformer blocks' : 'layers of the pattern';
    notes.push(`The pipeline stages hold ${blocks.join(', ')} ${what}, as planned.`);
  }
  if (v > 1) {
    notes.push(
      `Megatron-LM interleaves ${v} model chunks per rank (rank i holds virtual stages i, i + ${pp}, …): each rank keeps the plan's block count, in ${v} chunks that are not contiguous.`,
    );
  }
  if (dims.flashAttention2) {
    notes.push(
      'Attention is priced as FlashAttention-2: --attention-backend flash runs the flash-attn package through Transformer Engine; install flash-attn 2 and not FlashAttention-3 (flash_attn_interface), which Transformer Engine would prefer on Hopper and which runs faster than planned.',
    );
  }
  if (!dims.normFusion && dims.norm === 'rmsnorm') {
    notes.push(
      "The plan prices each RMSNorm as eager PyTorch composes it (model.normFusion false); Megatron-LM runs Transformer Engine's fused RMSNorm, one kernel keeping its input, so it runs in less time and memory than planned.",
    );
  }
  if (dims.mla === null && dims.kvHeads < tp) {
    notes.push(
      `tp ${tp} exceeds the ${dims.kvHeads} query groups: each rank computes 1/${tp} of the fused QKV projection, Megatron all-gathers its output over tp and slices out one group's keys and values and ${dims.heads / tp} of its query heads (priced, a gather --tp-comm-overlap does not hide).`,
    );
  }
  if (dims.positionEmbedding === 'rope') {
    notes.push(
      "RoPE runs with Megatron's default base of 10000 (--rotary-base sets another, e.g. 500000 for Llama 3); the base does not change the plan.",
    );
  }
  if (dims.moe !== null) notes.push(...moeNotes(ctx, dims.moe, facts));
  if (cp > 1) notes.push(...contextNotes(dims, cp, cpCommTypeOf(ctx.request)));
  if (dims.mla !== null) {
    notes.push(
      "Multi-latent attention rotates its position dims with Megatron's default YaRN at scaling factor 1.0, which is plain RoPE; give --rope-type and --rotary-scaling-factor for a context-extended run.",
    );
  }
  if (dims.precision === 'fp8') {
    notes.push(
      `FP8 (--fp8-format hybrid --fp8-recipe tensorwise: E4M3 forward, E5M2 gradients, per-tensor current scaling) needs Transformer Engine 2.2 or newer, and 1.11 or newer for FP8 grouped GEMMs of the experts; ${ctx.request.parallel?.fp8ParamGather === true ? "the GEMMs' weights are FP8 parameters (--fp8-param-gather), gathered in FP8 after the optimizer step, with no bf16 copy" : 'weights stay bf16 with FP8 copies made per GEMM'}.`,
    );
  }
  if (dims.precision === 'mxfp8') {
    notes.push(
      `MXFP8 (--fp8-format e4m3 --fp8-recipe mxfp8: Transformer Engine's MXFP8BlockScaling, E4M3 with an E8M0 scale per 32 elements, a row-wise and a column-wise copy of each operand) needs Blackwell's block-scaled tensor cores; ${paramGatherAsked(ctx.request.training.precision, ctx.request.parallel) ? "the GEMMs' weights are MXFP8 parameters (--fp8-param-gather), gathered in MXFP8 after the optimizer step, with no bf16 copy" : 'weights stay bf16 with MXFP8 copies made per step'}.`,
    );
  }
  if (dims.precision === 'nvfp4') {
    notes.push(
      `NVFP4 (--fp4-format e2m1 --fp4-recipe nvfp4: Transformer Engine's NVFP4BlockScaling, every linear layer's forward, data-gradient and weight-gradient GEMMs in E2M1 with E4M3 scales per 16 elements, a random Hadamard transform before the weight gradient's) needs Transformer Engine 2.7 or newer (validate_args) and FP4 tensor cores (Blackwell or later); ${paramGatherAsked(ctx.request.training.precision, ctx.request.parallel) ? "the GEMMs' weights are NVFP4 parameters (--fp4-param-gather), gathered in NVFP4 after the optimizer step, with no bf16 copy" : 'weights stay bf16 with NVFP4 copies made per step'}.`,
    );
  }
  const { first, last } = dims.bf16Layers;
  if (first + last > 0) {
    notes.push(
      `The first ${first} and last ${last} of the model's ${dims.layers} layers run their GEMMs in bf16, as priced (${argv(bf16LayerArgs(dims)).join(' ')}: Megatron-Core counts them over the whole model, not per pipeline stage), with no ${dims.precision.toUpperCase()} casts or weight copies.`,
    );
  }
  if (summary.zero >= 2) {
    notes.push(
      `ZeRO-${summary.zero} is Megatron-FSDP (${summary.zero === 2 ? 'optim_grads' : 'optim_grads_params'}), which reduce-scatters gradients at every microbatch and checkpoints only as fsdp_dtensor; with its default gradient accumulation fusion it needs Transformer Engine 2.10 or newer (else add --no-gradient-accumulation-fusion).`,
    );
  }
  if (facts.tensorParallelOverlap) {
    notes.push(
      "--tp-comm-overlap runs on Transformer Engine's userbuffers (the default --transformer-impl transformer_engine).",
    );
  }
  notes.push(...ctx.layout.placementNotes.map((n) => `Placement: ${n}.`));
  return notes;
}

function moeNotes(ctx: ExportContext, moe: MoeDims, facts: ExportFacts): string[] {
  const { ep, etp } = ctx.summary;
  const notes = [
    moe.dropless
      ? `Routing is dropless as planned: every token reaches its ${moe.topK} experts (no capacity factor).`
      : `Each expert takes a fixed capacity of ceil(tokens × ${moe.topK} × ${moe.capacityFactor} / ${moe.experts}) tokens as planned (extra tokens dropped, the rest padded to it); Megatron counts the tokens of each tensor-parallel rank.`,
  ];
  if (ep > 1) {
    notes.push(
      `Expert parallelism ${ep} × expert tensor parallelism ${etp}: each rank holds ${moe.experts / ep} experts of every MoE layer, and tokens reach them by all-to-all (--moe-token-dispatcher-type ${moe.dispatcher})${moe.dispatcher === 'flex' ? ' on HybridEP (--moe-flex-dispatcher-backend hybridep), whose kernels all-gather the routing maps and then send a token once to each other node that holds one of its experts, as priced' : ''}.`,
    );
  }
  if (moe.denseLayers > 0) {
    notes.push(
      `--moe-layer-freq makes the first ${moe.denseLayers} blocks dense (FFN ${ctx.dims?.ffnHidden}) and the rest MoE (experts of FFN ${moe.ffnHidden}).`,
    );
  }
  if (facts.expertParallelOverlap) {
    notes.push(
      "--overlap-moe-expert-parallel-comm hides the expert all-to-alls behind another microbatch's compute, as priced; it needs PyTorch 2.6 or newer.",
    );
  }
  if (moe.routerWeights === 'combine') {
    notes.push(
      `The plan prices the router weights on the experts' outputs (model.moe.routerWeights 'combine'); Megatron-Core applies them in the experts' activation and keeps no expert output, ${moe.topK} × ${ctx.dims?.hidden} values per token and MoE block fewer than planned.`,
    );
  }
  if (!facts.groupedGemm) {
    notes.push(
      'Grouped GEMM needs compute capability 8.0 or newer: on these GPUs Megatron runs the experts one after another (SequentialMLP).',
    );
  }
  return notes;
}

function contextNotes(dims: TransformerDims, cp: number, commType: CpCommType): string[] {
  const exchange = {
    p2p: 'passes key/value blocks around a ring (cp − 1 steps, each overlapped with attention)',
    a2a: 'exchanges heads for sequence by all-to-all before and after attention (each rank attends over the whole sequence with a 1/cp share of the heads)',
    allgather: 'all-gathers the keys and values of the whole sequence before attention',
  }[commType];
  const notes = [
    `Context parallelism ${cp} holds ${dims.seqLen / cp} of each sequence's ${dims.seqLen} tokens per rank, in two chunks of ${dims.seqLen / (2 * cp)} for causal balance, and ${exchange} (Transformer Engine's attention).`,
  ];
  if (dims.mamba !== null)
    notes.push(
      `Each Mamba mixer sends its packed input projection all-to-all over the ${cp} cp ranks so that each scans the whole sequence of 1/${cp} of its heads, then sends the output back (MambaContextParallel).`,
    );
  return notes;
}
