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
  /** A latent MoE's routed width: what its experts read and write, and its tokens travel in. */
  moeLatent: 'z',
  /** Mamba-2: the mixer's heads (tensor parallelism splits them, and their groups with them). */
  ssmHeads: 'a',
  /** Mamba-2: a head's channels of x (headDim). */
  ssmHeadDim: 'u',
  /** Mamba-2: a head's channels of the packed input projection (z, x, dt and its share of B and C). */
  ssmPacked: 'j',
  /** Mamba-2: the convolution's taps and bias of a head's x channels. */
  ssmConvTaps: 'y',
  /** Mamba-2: a head's other scan parameters (its share of B's and C's taps and biases; dt bias, A, D). */
  ssmParams: 'q',
} as const;

export type DimName = keyof typeof DIM;
export type DimLetter = (typeof DIM)[DimName];
