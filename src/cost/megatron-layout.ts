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
export function megatronStrategy(op: GraphOp, sequenceParallel: boolean, expertsOverTp = false): OpStrategy {
  // MoE parallel folding with expert TP 1: the tp ranks hold different experts, not slices of each.
  const letter =
    expertsOverTp && op.einsum.letters.includes(DIM.experts)
      ? DIM.experts
      : TENSOR_PARALLEL_DIMS.find((l) => op.einsum.letters.includes(l));
  if (letter === undefined)
    return { split: [null, sequenceParallel ? sequenceSplit(op.einsum.letters) : null] };
  const contracted = op.einsum.contracted.includes(letter);
  const onto = contracted && sequenceParallel ? sequenceSplit(op.einsum.output) : null;
  return { split: [null, letter], scatter: [null, onto] };
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
