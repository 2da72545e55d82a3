import { z } from 'zod';
import { RecomputeModule } from './vocabulary.ts';

/** Element types a tensor may hold; bytes per element live in `DTYPE_BYTES`. */
export const Dtype = z.enum([
  'fp32',
  'tf32',
  'bf16',
  'fp16',
  'fp8',
  'mxfp8',
  'nvfp4',
  'int64',
  'int32',
  'int8',
  'bool',
]);
export type Dtype = z.infer<typeof Dtype>;

export const DTYPE_BYTES: Readonly<Record<Dtype, number>> = {
  fp32: 4,
  tf32: 4,
  bf16: 2,
  fp16: 2,
  fp8: 1,
  // An E4M3 element and its share of the E8M0 scale each 32 elements carry.
  mxfp8: 1 + 1 / 32,
  // A 4-bit element and its share of the E4M3 scale each 16 elements carry.
  nvfp4: 0.5 + 1 / 16,
  int64: 8,
  int32: 4,
  int8: 1,
  bool: 1,
};

/**
 * What an op does beyond its einsum. It decides merging (elementwise, add, dropout and reshape ops
 * follow their operand, as in Alpa), which kernel prices it (a matmul is a GEMM, `attention` one
 * fused FlashAttention kernel, ops without a contraction memory-bound kernels), and what the
 * backward pass keeps (`SAVED_FOR_BACKWARD`).
 */
export const OpKind = z.enum([
  'matmul',
  'attention',
  'elementwise',
  'add',
  'dropout',
  'reshape',
  'norm',
  'softmax',
  'embedding',
  'loss',
  /** A chunked state-space scan (Mamba-2's SSD kernels, with its causal convolution): see OpSpec.scan. */
  'scan',
  'other',
]);
export type OpKind = z.infer<typeof OpKind>;

/**
 * What each kind keeps for its backward pass (Korthikanti et al. 2022, §4): contractions, norms and
 * nonlinear elementwise ops their activation inputs; softmax its output; dropout a 1-byte mask; a
 * sum or a transpose nothing.
 */
export const SAVED_FOR_BACKWARD: Readonly<
  Record<OpKind, 'inputs' | 'output' | 'inputs-and-output' | 'mask' | 'nothing'>
> = {
  matmul: 'inputs',
  attention: 'inputs',
  elementwise: 'inputs',
  add: 'nothing',
  dropout: 'mask',
  reshape: 'nothing',
  norm: 'inputs',
  softmax: 'output',
  embedding: 'inputs',
  loss: 'inputs',
  // Mamba's fused scan (mamba_split_conv1d_scan_combined) keeps its packed input and its ungated output.
  scan: 'inputs-and-output',
  other: 'inputs',
};

/** Whether a kind's backward keeps its activation inputs (SAVED_FOR_BACKWARD). */
export function keepsInputs(kind: OpKind): boolean {
  const rule = SAVED_FOR_BACKWARD[kind];
  return rule === 'inputs' || rule === 'inputs-and-output';
}

const name = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[^\s]+$/, 'names may not contain white space');

export const TensorSpec = z
  .object({
    name,
    shape: z
      .array(
        z
          .number()
          .int()
          .positive()
          .max(2 ** 40),
      )
      .max(8),
    dtype: Dtype.default('bf16'),
    /** A trained parameter: it gets gradients and optimizer state. */
    param: z.boolean().default(false),
  })
  .strict();
export type TensorSpec = z.infer<typeof TensorSpec>;

/**
 * A kernel that moves data between the devices of an outer parallel group itself, as the group's
 * degree makes it (DESIGN.md §4.2): attention's keys and values among context-parallel peers (a ring
 * of P2P steps overlapped with the attention itself, Ulysses' all-to-alls, or an all-gather), routed
 * tokens among expert-parallel peers (all-to-all). `operands` (by position) and `output` name the
 * tensors that travel.
 */
export const Exchange = z
  .object({
    group: z.enum(['cp', 'ep']),
    kind: z.enum(['ring', 'all-to-all', 'all-gather']),
    operands: z.array(z.number().int().nonnegative().max(7)).max(8).default([]),
    output: z.boolean().default(false),
    /**
     * Routed tokens whose kernels send a token to a remote node once, however many of its `topK`
     * experts (of `experts`, spread evenly over the group's devices) that node holds, and hand the
     * copies on over the node's NVLink: DeepEP's and HybridEP's dispatch and combine (Megatron-LM's
     * flex dispatcher). Absent: one send per copy, as NCCL's all-to-all runs.
     */
    nodeDeduplicated: z
      .object({
        experts: z.number().int().positive().max(1_000_000),
        topK: z.number().int().positive().max(1_000_000),
      })
      .strict()
      .optional(),
  })
  .strict()
  .superRefine((e, ctx) => {
    if (e.nodeDeduplicated === undefined) return;
    if (e.kind !== 'all-to-all' || e.group !== 'ep')
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['nodeDeduplicated'],
        message: 'only an expert-parallel all-to-all routes tokens to deduplicate',
      });
    if (e.nodeDeduplicated.topK > e.nodeDeduplicated.experts)
      ctx.addIssue({
        code: z.ZodIssueCode.custom,
        path: ['nodeDeduplicated', 'topK'],
        message: `a token picks at most the ${e.nodeDeduplicated.experts} experts there are`,
      });
  });
export type Exchange = z.infer<typeof Exchange>;

export const OpSpec = z
  .object({
    name,
    /** e.g. "bsh,hf->bsf": one letter per tensor dim; letters absent from the output are contracted. */
    einsum: z.string().min(3).max(100),
    inputs: z.array(name).min(1).max(8),
    output: name,
    kind: OpKind.default('other'),
    /** Forward FLOPs, overriding the count derived from the einsum (2·Π dims for contractions). */
    flops: z.number().nonnegative().optional(),
    /**
     * Dims the op reduces over internally without the einsum showing it (a norm's hidden dim, a
     * softmax's key dim): splitting them would need a collective the model does not price.
     */
    reducedDims: z.array(z.string().length(1)).optional(),
    /**
     * Recomputed under selective activation recomputation (Korthikanti et al. 2022: the attention
     * core — scores, softmax, dropout, context — whose outputs are large and cheap to redo).
     */
    selectiveRecompute: z.boolean().default(false),
    /**
     * The Megatron-LM submodules the op belongs to, innermost first (an expert's activation is in
     * moe_act and moe): selective recomputation with `parallel.recomputeModules` redoes the ops of
     * the listed ones.
     */
    recomputeModules: z.array(RecomputeModule).max(8).optional(),
    /**
     * An `attention` kernel that skips the masked half of a causal score matrix: it performs about
     * half the FLOPs its einsum (or `flops`) counts over every key.
     */
    causal: z.boolean().optional(),
    /**
     * A causal `attention` kernel with a sliding window: each query attends to the `window` keys
     * ending at its own position, and the kernel skips the blocks outside the band.
     */
    window: z.number().int().positive().optional(),
    /** The dtype a contraction's tensor cores run at when it differs from its operands' (FP8 GEMMs). */
    computeDtype: Dtype.optional(),
    /**
     * The matmul this one is fused with in one linear module, reading the same input: Megatron-LM's
     * linear_qkv (q, k and v), linear_fc1 (a gated MLP's gate and up), MLA's down and up projections
     * with their rotary parts. Quantized (FP8, MXFP8, NVFP4), the module casts that input once — the
     * op named here pays for it — and its output gradient in one kernel (cost/quantized-gemm.ts).
     */
    fusedWith: name.optional(),
    exchange: Exchange.optional(),
    /**
     * The inputs (by position) the backward pass keeps, where they are fewer than the kind's rule
     * keeps (SAVED_FOR_BACKWARD): a routed sum whose weights were applied upstream needs only its
     * index maps to send each gradient back.
     */
    savedInputs: z.array(z.number().int().nonnegative().max(7)).max(8).optional(),
    /**
     * A `norm` that runs as eager PyTorch's RMSNorm, a composite of kernels (TransformerSpec.normFusion
     * false), priced pass by pass (cost/memory-kernels.ts). Absent: one kernel.
     */
    composite: z.boolean().optional(),
    /**
     * A routing op (an MoE dispatch or combine): it moves every token of the `tokens` dims to a slot
     * of its own along `slots`, so a device holding some of the tokens holds their slots and nothing
     * of the others' — splitting the tokens splits the slots, and the pieces are disjoint rather than
     * partial sums.
     */
    routes: z
      .object({ tokens: z.array(z.string().length(1)).min(1).max(8), slots: z.string().length(1) })
      .strict()
      .optional(),
    /**
     * Sliding-window dims (a stride-1 convolution's spatial axes) with the rows a device needs from
     * each neighbour when the dim is split (⌈(k − 1)·dilation / 2⌉ for a kernel of k): a halo the
     * devices exchange, forward and backward, instead of a split the op cannot take.
     */
    halo: z.record(z.string().length(1), z.number().int().positive().max(1_000_000)).optional(),
    /**
     * A `scan` op's recurrence (Mamba-2's SSD): the state size N of each group, the groups sharing B
     * and C, and the tokens a chunk holds (its intra-chunk work is quadratic in them, its states are
     * written once a chunk). The einsum's first operand is the packed input, its output (b, s, heads,
     * headDim).
     */
    scan: z
      .object({
        stateDim: z.number().int().positive().max(100_000),
        groups: z.number().int().positive().max(100_000),
        chunkSize: z.number().int().positive().max(1_000_000),
      })
      .strict()
      .optional(),
  })
  .strict();
export type OpSpec = z.infer<typeof OpSpec>;

export const OpGraphSpec = z
  .object({
    name: z.string().max(200).optional(),
    tensors: z.array(TensorSpec).min(1).max(100_000),
    ops: z.array(OpSpec).min(1).max(100_000),
  })
  .strict();
export type OpGraphSpec = z.infer<typeof OpGraphSpec>;
export type OpGraphInput = z.input<typeof OpGraphSpec>;
