import { type InputIssue, InvalidInputError, parseOrThrow } from '../schema/errors.ts';
import { TransformerSpec } from '../schema/model.ts';
import { type Activation, type Norm, type PositionEmbedding, Precision } from '../schema/vocabulary.ts';

export interface BuildOptions {
  /** Sequences per microbatch: the b dim of every activation. */
  readonly microBatch: number;
  readonly precision: Precision;
}

export interface MoeDims {
  /** e */
  readonly experts: number;
  readonly topK: number;
  readonly capacityFactor: number;
  /** c: token slots per expert, ceil(topK·b·s·capacityFactor / e) (GShard/Switch). */
  readonly capacity: number;
}

/** A transformer spec with every default applied: the sizes the einsum letters stand for. */
export interface TransformerDims {
  readonly name: string;
  readonly layers: number;
  /** b */
  readonly microBatch: number;
  /** s (and t, the key position, in attention) */
  readonly seqLen: number;
  /** h */
  readonly hidden: number;
  /** n */
  readonly heads: number;
  /** d */
  readonly headDim: number;
  /** g */
  readonly kvHeads: number;
  /** r = n / g: query heads sharing one key/value head */
  readonly groupSize: number;
  /** f */
  readonly ffnHidden: number;
  /** v */
  readonly vocab: number;
  readonly activation: Activation;
  readonly norm: Norm;
  readonly tiedEmbeddings: boolean;
  readonly positionEmbedding: PositionEmbedding;
  /** Biases on the linear layers (GPT's and Megatron's default; Llama has none). */
  readonly bias: boolean;
  /**
   * Dropout on attention probabilities and on every branch into the residual stream: GPT (and
   * Megatron's default, 0.1) trains with it, Llama without; unless the spec says, the activation's
   * family decides.
   */
  readonly dropout: boolean;
  readonly flashAttention: boolean;
  readonly moe: MoeDims | null;
  readonly precision: Precision;
}

/** Llama's FFN size for SwiGLU: two thirds of 4h (same parameters as a 4h GELU MLP), rounded up to 256. */
export function swigluFfnHidden(hidden: number): number {
  const multipleOf = 256;
  return Math.ceil(Math.floor((2 * 4 * hidden) / 3) / multipleOf) * multipleOf;
}

function checkOptions(options: BuildOptions): void {
  const issues: InputIssue[] = [];
  if (!Number.isInteger(options.microBatch) || options.microBatch < 1) {
    issues.push({ path: 'microBatch', message: `must be a positive integer, got ${options.microBatch}` });
  }
  if (!Precision.safeParse(options.precision).success) {
    issues.push({
      path: 'precision',
      message: `must be one of ${Precision.options.join(', ')}, got ${String(options.precision)}`,
    });
  }
  if (issues.length > 0) throw new InvalidInputError(issues, 'build options');
}

/**
 * Applies the defaults documented in `src/schema/model.ts`. The spec is validated again because
 * callers may hand over an object they built themselves rather than one the schema parsed.
 */
export function resolveDims(input: TransformerSpec, options: BuildOptions): TransformerDims {
  const spec = parseOrThrow(TransformerSpec, input, 'model');
  checkOptions(options);
  const gelu = spec.activation === 'gelu';
  const kvHeads = spec.kvHeads ?? spec.heads;
  const tokens = options.microBatch * spec.seqLen;
  const moe =
    spec.moe === undefined
      ? null
      : {
          experts: spec.moe.experts,
          topK: spec.moe.topK,
          capacityFactor: spec.moe.capacityFactor,
          capacity: Math.ceil((spec.moe.topK * tokens * spec.moe.capacityFactor) / spec.moe.experts),
        };
  return {
    name: spec.name ?? 'transformer',
    layers: spec.layers,
    microBatch: options.microBatch,
    seqLen: spec.seqLen,
    hidden: spec.hidden,
    heads: spec.heads,
    headDim: spec.hidden / spec.heads,
    kvHeads,
    groupSize: spec.heads / kvHeads,
    ffnHidden: spec.ffnHidden ?? (gelu ? 4 * spec.hidden : swigluFfnHidden(spec.hidden)),
    vocab: spec.vocab,
    activation: spec.activation,
    norm: spec.norm ?? (gelu ? 'layernorm' : 'rmsnorm'),
    tiedEmbeddings: spec.tiedEmbeddings ?? gelu,
    positionEmbedding: spec.positionEmbedding ?? (gelu ? 'learned' : 'rope'),
    bias: spec.bias ?? gelu,
    dropout: spec.dropout ?? gelu,
    flashAttention: spec.attention === 'flash',
    moe,
    precision: options.precision,
  };
}
