import type { GraphOp } from '../graph/graph.ts';
import { DIM } from '../graph/letters.ts';
import type { OpStrategy } from './strategy.ts';

/*
 * The dims Megatron-LM's tensor parallelism splits, in the order it prefers them: KV-head groups
 * (GQA), heads, FFN inner dim (experts' too: expert tensor parallelism defaults to tp), vocabulary.
 * Experts themselves are split by expert parallelism, a degree of its own; the router runs whole.
 */
const TENSOR_PARALLEL_DIMS = [DIM.kvHeads, DIM.heads, DIM.ffn, DIM.vocab] as const;

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
  if (letter === undefined) {
    return { split: [null, sequenceParallel && op.einsum.letters.includes(DIM.seq) ? DIM.seq : null] };
  }
  const contracted = op.einsum.contracted.includes(letter);
  return {
    split: [null, letter],
    scatter: [null, contracted && sequenceParallel && op.einsum.output.includes(DIM.seq) ? DIM.seq : null],
  };
}
