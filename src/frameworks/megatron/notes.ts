/** What a Megatron-LM user should know about an expressible export: how it maps, what it assumes. */
import type { ExportContext } from '../context.ts';

export interface ExportFacts {
  readonly groupedGemm: boolean;
  readonly tensorParallelOverlap: boolean;
}

export function megatronNotes(ctx: ExportContext, facts: ExportFacts): string[] {
  const { summary, dims, blocks } = ctx;
  const { tp, pp, dp, virtualStages: v } = summary;
  if (dims === null) return [];
  const notes = [
    `Run the launch script (megatron-launch.sh) on every node: Megatron-LM derives the data-parallel size from the world size, ${ctx.devices} / (tp ${tp} × pp ${pp}) = ${dp}.`,
    `--padded-vocab-size ${dims.vocab} gives the embedding and the output layer exactly ${dims.vocab} rows (otherwise Megatron pads the tokenizer's vocabulary to a multiple of 128 × tp); the script's synthetic tokenizer has ${dims.vocab} tokens, and a real tokenizer must have at most that many.`,
  ];
  if (dims.precision === 'bf16') {
    notes.push(
      "Gradients are kept and reduced in bf16 (--grad-reduce-in-bf16), the 2 bytes per parameter planned; Megatron's bf16 default accumulates and reduces them in fp32.",
    );
  }
  if (pp > 1 && blocks.some((n) => n !== blocks[0])) {
    notes.push(`The pipeline stages hold ${blocks.join(', ')} transformer blocks, as planned.`);
  }
  if (v > 1) {
    notes.push(
      `Megatron-LM interleaves ${v} model chunks per rank (rank i holds virtual stages i, i + ${pp}, …): each rank keeps the plan's block count, in ${v} chunks that are not contiguous.`,
    );
  }
  if (dims.positionEmbedding === 'rope') {
    notes.push(
      "RoPE runs with Megatron's default base of 10000 (--rotary-base sets another, e.g. 500000 for Llama 3); the base does not change the plan.",
    );
  }
  if (dims.moe !== null) {
    notes.push(
      `Each expert takes a fixed capacity of ceil(tokens × ${dims.moe.topK} × ${dims.moe.capacityFactor} / ${dims.moe.experts}) tokens as planned (extra tokens dropped, the rest padded to it); Megatron counts the tokens of each tensor-parallel rank.`,
    );
    if (!facts.groupedGemm) {
      notes.push(
        'Grouped GEMM needs compute capability 8.0 or newer: on these GPUs Megatron runs the experts one after another (SequentialMLP).',
      );
    }
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
