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
  /** The experts one device holds (expert parallelism shards them); a parameter with it is an expert's. */
  experts: 'e',
  /** Every expert of the model, as the router scores them (the router runs whole on every device). */
  routerExperts: 'x',
  /** Token slots per expert. */
  capacity: 'c',
  /** The experts each token is routed to (top-k). */
  route: 'k',
  /** Multi-head latent attention: the query latent. */
  queryLatent: 'l',
  /** Multi-head latent attention: the key/value latent (with the shared rotary key). */
  kvLatent: 'm',
  /** Multi-head latent attention: a value head's size (queries and keys use headDim). */
  valueDim: 'w',
  /** Multi-head latent attention: the rotary part of a query/key head (headDim holds the rest). */
  ropeDim: 'p',
  /** The output side of a square h → h projection (multi-token prediction's). */
  projected: 'o',
} as const;

export type DimName = keyof typeof DIM;
export type DimLetter = (typeof DIM)[DimName];
