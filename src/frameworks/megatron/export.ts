import type { TransformerDims } from '../../model/dims.ts';
import type { Exports } from '../../schema/index.ts';
import type { ExportContext } from '../context.ts';
import { megatronSplit, virtualStageBlocks } from '../pipeline-split.ts';
import { MEGATRON_RELEASE } from './rules.ts';

type MegatronExport = Exports['megatron'];

function modelArgs(d: TransformerDims): string[] {
  const args = [
    ['--num-layers', d.layers],
    ['--hidden-size', d.hidden],
    ['--num-attention-heads', d.heads],
    ['--seq-length', d.seqLen],
    ['--max-position-embeddings', d.seqLen],
    // Megatron's default FFN size is 4h even with SwiGLU (where Llama's rule differs): always say it.
    ['--ffn-hidden-size', d.ffnHidden],
  ].flatMap(([flag, value]) => [String(flag), String(value)]);
  if (d.kvHeads !== d.heads) args.push('--group-query-attention', '--num-query-groups', String(d.kvHeads));
  if (d.activation === 'swiglu') args.push('--swiglu');
  if (d.norm === 'rmsnorm') args.push('--normalization', 'RMSNorm');
  if (!d.tiedEmbeddings) args.push('--untie-embeddings-and-output-weights');
  if (d.moe !== null)
    args.push('--num-experts', String(d.moe.experts), '--moe-router-topk', String(d.moe.topK));
  args.push(d.precision === 'bf16' ? '--bf16' : '--fp16');
  return args;
}

const RECOMPUTE_ARGS = {
  none: [],
  selective: ['--recompute-granularity', 'selective'],
  full: ['--recompute-granularity', 'full', '--recompute-method', 'uniform', '--recompute-num-layers', '1'],
} as const;

/**
 * Megatron-LM's `--pipeline-model-parallel-layout` for the plan's stages (E embedding, t block,
 * L loss; `|` between virtual stages in layer order): recent versions take any contiguous split.
 */
function layoutString(blocks: readonly number[], virtualStages: number): string | null {
  const chunks = virtualStageBlocks(blocks, virtualStages);
  if (chunks === null) return null;
  const repeat = (n: number) => (n === 0 ? '' : n === 1 ? 't' : `t*${n}`);
  return chunks
    .map((n, i) => `${i === 0 ? 'E' : ''}${repeat(n)}${i === chunks.length - 1 ? 'L' : ''}`)
    .join('|');
}

function notExpressible(problems: readonly string[]): MegatronExport {
  return {
    expressible: false,
    release: MEGATRON_RELEASE,
    args: [],
    command: '',
    files: [],
    notes: problems.map((p) => `Not expressible in Megatron-LM: ${p}.`),
  };
}

/** `pretrain_gpt.py` arguments for the plan, or the reasons Megatron-LM cannot run it. */
export function megatronExport(ctx: ExportContext): MegatronExport {
  const { summary, dims, layout, blocks } = ctx;
  const { tp, pp, dp, virtualStages: v } = summary;
  if (dims === null) {
    return notExpressible([
      'it trains its own GPT/Llama-style models; a general operator graph has no equivalent',
    ]);
  }
  const problems = [...layout.megatronProblems];
  if (summary.zero === 3) {
    problems.push(
      'ZeRO-3 shards parameters, and --use-distributed-optimizer shards only optimizer state and gradients (recent versions add FSDP modes with their own restrictions; not emitted here)',
    );
  }
  if (ctx.batchProblem !== null) problems.push(ctx.batchProblem);
  const split = megatronSplit(blocks, v);
  if (split.kind === 'inexpressible') {
    const layout = layoutString(blocks, v);
    problems.push(
      `its pipeline split: ${split.reason}${layout === null ? '' : `; recent Megatron-core versions accept it as --pipeline-model-parallel-layout "${layout}" (not emitted here)`}`,
    );
  }
  if (problems.length > 0) return notExpressible(problems);

  const args = ['--tensor-model-parallel-size', String(tp), '--pipeline-model-parallel-size', String(pp)];
  const notes = [
    `Launch on ${ctx.devices} GPUs: Megatron-LM derives the data-parallel size from the world size, ${ctx.devices} / (tp ${tp} × pp ${pp}) = ${dp}.`,
  ];
  if (split.kind === 'even' && v > 1) {
    args.push('--num-layers-per-virtual-pipeline-stage', String(dims.layers / (pp * v)));
  }
  if (split.kind === 'first-last') {
    if (split.first !== null) args.push('--decoder-first-pipeline-num-layers', String(split.first));
    if (split.last !== null) args.push('--decoder-last-pipeline-num-layers', String(split.last));
    // With an uneven split Megatron takes the chunk count, not the chunk size.
    if (v > 1) args.push('--num-virtual-stages-per-pipeline-rank', String(v));
    notes.push(
      `The plan splits the blocks unevenly (${blocks.join(', ')} per stage): --decoder-first/last-pipeline-num-layers exist only in recent Megatron-LM versions.`,
    );
  }
  if (v > 1) {
    notes.push(
      `Megatron-LM interleaves ${v} model chunks per rank (rank i holds virtual stages i, i + ${pp}, …): each rank keeps the plan's block count, in ${v} chunks that are not contiguous.`,
    );
    if (summary.microbatches % pp !== 0) {
      notes.push(
        `Older Megatron-LM versions require the microbatch count (${summary.microbatches}) to be a multiple of pp (${pp}) with the interleaved schedule.`,
      );
    }
  }
  if (summary.schedule === 'gpipe') {
    notes.push(
      'Megatron-LM has no GPipe schedule: it runs 1F1B, which has the same bubble and keeps fewer microbatches in flight.',
    );
  }
  if (summary.sequenceParallel && tp > 1) args.push('--sequence-parallel');
  args.push('--micro-batch-size', String(ctx.rankMicroBatch));
  args.push('--global-batch-size', String(ctx.request.training.globalBatch));
  args.push(...RECOMPUTE_ARGS[summary.recompute]);
  if (summary.zero >= 1) args.push('--use-distributed-optimizer');
  if (summary.zero === 2) {
    notes.push(
      'ZeRO-2 maps to --use-distributed-optimizer, which shards optimizer state and reduce-scatters gradients.',
    );
  }
  args.push(...modelArgs(dims));
  notes.push(
    `The vocabulary (${dims.vocab}) comes from the tokenizer (--tokenizer-type, --vocab-file); Megatron-LM pads it to a multiple of 128 × tp.`,
  );
  if (dims.moe !== null) {
    notes.push(
      `The plan gives each expert ${dims.moe.capacityFactor}× its even share of tokens; Megatron-LM routes without dropping by default (--moe-expert-capacity-factor sets a capacity).`,
    );
  }
  notes.push(...layout.placementNotes.map((n) => `Placement: ${n}.`));
  return {
    expressible: true,
    release: MEGATRON_RELEASE,
    args,
    command: `pretrain_gpt.py ${args.join(' ')}`,
    files: [],
    notes,
  };
}
