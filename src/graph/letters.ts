/**
 * The einsum letter of each dim with a meaning, defined once: the transformer builder spells its
 * einsums with these, the ONNX importer gives them to the dims it recognises, and whoever reads a
 * graph for meaning (Megatron's layouts in the cost model, the batch and sequence splits the
 * planner reports) asks for a dim by name, not by letter.
 */
export const DIM = {
  /** Sequences of the microbatch. */
  batch: 'b',
  /** Token position. */
  seq: 's',
  /** Key/value position attention reads (the same tokens as `seq`, another role). */
  keySeq: 't',
  hidden: 'h',
  /** FFN inner size. */
  ffn: 'f',
  /** Attention heads (multi-head attention). */
  heads: 'n',
  /** Key/value head groups (grouped-query attention). */
  kvHeads: 'g',
  /** Query heads per key/value head (grouped-query attention). */
  groupSize: 'r',
  headDim: 'd',
  vocab: 'v',
  experts: 'e',
  /** Token slots per expert. */
  capacity: 'c',
} as const;

export type DimName = keyof typeof DIM;
export type DimLetter = (typeof DIM)[DimName];
