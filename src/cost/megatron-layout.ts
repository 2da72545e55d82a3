import type { GraphOp } from '../graph/graph.ts';
import { DIM } from '../graph/letters.ts';
import type { OpStrategy } from './strategy.ts';

/*
 * The dims Megatron-LM's tensor parallelism splits, in the order it prefers them: KV-head groups
 * (GQA), heads, a Mamba-2 mixer's heads (with their groups), FFN inner dim (experts' too: expert
 * tensor parallelism defaults to tp), vocabulary. Experts themselves are split by expert
 * parallelism, a degree of its own; the router runs whole, and a latent MoE's projections too.
 */
const TENSOR_PARALLEL_DIMS = [DIM.kvHeads, DIM.heads, DIM.ssmHeads, DIM.ffn, DIM.vocab] as const;

/** What decides Megatron-LM's layout of an op (megatronStrategy). */
export interface MegatronLayout {
  /** The tensor-parallel degree: the [1, tp] mesh's second axis. */
  readonly tp: number;
  readonly sequenceParallel: boolean;
  /** MoE parallel folding: the experts over the tp ranks (default false). */
  readonly expertsOverTp?: boolean;
  /**
   * Whether the runtime gathers the QKV output when tp exceeds the key/value heads, as Megatron-LM
   * does (default true); XLA's GSPMD computes each rank's query heads where they are.
   */
  readonly gathersQueries?: boolean;
}

/**
 * The layout Megatron-LM gives an op on a [1, tp] mesh: column-parallel projections split heads
 * or the FFN dim, row-parallel ones contract it (all-reduce, or reduce-scatter onto the sequence
 * with sequence parallelism), the vocabulary is split for the embedding, LM head and loss, and
 * everything else is replicated — or split along the sequence with sequence parallelism. With
 * `expertsOverTp` (Megatron-Core's MoE parallel folding at --expert-tensor-parallel-size 1) the MoE
 * ops split the experts over the tp ranks instead: expert parallelism spans tp × the ep ranks
 * carved from dp·cp, tokens reaching the tp peers' experts by the gather the dispatch implies and
 * returning by the combine's reduction.
 */
export function megatronStrategy(op: GraphOp, layout: MegatronLayout): OpStrategy {
  const { tp, sequenceParallel, expertsOverTp = false, gathersQueries = true } = layout;
  // MoE parallel folding with expert TP 1: the tp ranks hold different experts, not slices of each.
  const letter =
    expertsOverTp && op.einsum.letters.includes(DIM.experts)
      ? DIM.experts
      : tensorParallelLetter(op, tp, sequenceParallel);
  if (letter === undefined)
    return { split: [null, sequenceParallel ? sequenceSplit(op.einsum.letters) : null] };
  const contracted = op.einsum.contracted.includes(letter);
  const onto = contracted && sequenceParallel ? sequenceSplit(op.einsum.output) : null;
  const strategy: OpStrategy = { split: [null, letter], scatter: [null, onto] };
  // Past the key/value heads Megatron gathers the query heads with the keys and values (below): the
  // op that makes them from the hidden states (its activation, operand 0, has no query heads).
  return gathersQueries && letter === DIM.groupSize && !op.einsum.inputs[0]!.includes(DIM.groupSize)
    ? { ...strategy, gathersOutputOn: 1 }
    : strategy;
}

/**
 * The dim tp splits in `op`: the first of TENSOR_PARALLEL_DIMS it has. Where tp is a multiple of
 * the key/value heads, more than there are, Megatron-LM computes a 1/tp slice of the fused QKV
 * projection on each rank, all-gathers its output over tp and slices out one group's keys and
 * values and heads/tp of its query heads (attention.py, core_v0.19.0). The graph does the same work
 * a rank: the query side (q projection, attention, output projection) splits the query heads within
 * each group (r), the q projection's output gathered and sliced back as Megatron's is; the key and
 * value projections split the head dim and are gathered for attention — or, with sequence
 * parallelism, run on the sequence shards and are gathered from those.
 */
function tensorParallelLetter(op: GraphOp, tp: number, sequenceParallel: boolean): string | undefined {
  const letters = op.einsum.letters;
  for (const letter of TENSOR_PARALLEL_DIMS) {
    if (!letters.includes(letter)) continue;
    if (letter !== DIM.kvHeads || (op.dimSize[letter] ?? 1) % tp === 0) return letter;
    if (letters.includes(DIM.groupSize)) return DIM.groupSize;
    return sequenceParallel ? undefined : DIM.headDim;
  }
  return undefined;
}

/**
 * What sequence parallelism splits among `letters` (an op's, or its output's for a row-parallel
 * reduce-scatter): the sequence, or between the MoE dispatch and combine (the experts' tensors) the
 * slots of this rank's tokens — the experts' column-parallel projections gather them and their
 * row-parallel ones reduce-scatter back onto them, as Megatron-LM's dispatcher does over the
 * tensor-parallel group (token_dispatcher.py: `gather_from_sequence_parallel_region` after the
 * all-to-all, `reduce_scatter_to_sequence_parallel_region` before the one back).
 */
function sequenceSplit(letters: string | readonly string[]): string | null {
  if (letters.includes(DIM.seq)) return DIM.seq;
  return letters.includes(DIM.capacity) && letters.includes(DIM.experts) ? DIM.capacity : null;
}
