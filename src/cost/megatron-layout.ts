import type { GraphOp } from '../graph/graph.ts';
import type { OpStrategy } from './strategy.ts';

/*
 * The letters the model builders give to the dims Megatron-LM's tensor parallelism splits, in the
 * order it prefers them: KV-head groups (GQA), heads, FFN inner dim, experts, vocabulary.
 */
const TENSOR_PARALLEL_LETTERS = ['g', 'n', 'f', 'e', 'v'] as const;

/**
 * The layout Megatron-LM gives an op on a [1, tp] mesh: column-parallel projections split heads
 * or the FFN dim, row-parallel ones contract it (all-reduce, or reduce-scatter onto the sequence
 * with sequence parallelism), the vocabulary is split for the embedding, LM head and loss, and
 * everything else is replicated — or split along the sequence with sequence parallelism.
 */
export function megatronStrategy(op: GraphOp, sequenceParallel: boolean): OpStrategy {
  const letter = TENSOR_PARALLEL_LETTERS.find((l) => op.einsum.letters.includes(l));
  if (letter === undefined) {
    return { split: [null, sequenceParallel && op.einsum.letters.includes('s') ? 's' : null] };
  }
  const contracted = op.einsum.contracted.includes(letter);
  return {
    split: [null, letter],
    scatter: [null, contracted && sequenceParallel && op.einsum.output.includes('s') ? 's' : null],
  };
}
