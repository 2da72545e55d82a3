import { type InputIssue, InvalidInputError, parseOrThrow } from '../schema/errors.ts';
import {
  type Activation,
  type Bf16Layers,
  CpCommType,
  type Dtype,
  GATED_ACTIVATIONS,
  type MoeDispatcher,
  type Norm,
  type PositionEmbedding,
  Precision,
  quantizedGemmDtype,
  type RouterWeightsAt,
  type TrainingSpec,
} from '../schema/index.ts';
import type { MlaSpec, ModelSpec } from '../schema/model.ts';
import { HYBRID_LAYER_SYMBOLS, TransformerSpec } from '../schema/model.ts';

/** The per-device view a model is built for: its microbatch, precision and outer parallel degrees. */
export interface BuildOptions {
  /** Sequences per microbatch: the b dim of every activation. */
  readonly microBatch: number;
  readonly precision: Precision;
  /** Context parallelism: each device holds seqLen / degree tokens; default none. */
  readonly contextParallel?: { readonly degree: number; readonly commType: CpCommType };
  /** Expert parallelism: each device holds experts / degree experts; default none. */
  readonly expertParallel?: number;
  /** Blocks at the model's ends whose GEMMs stay bf16 under a quantized precision (training.bf16Layers). */
  readonly bf16Layers?: Bf16Layers;
}

export interface MoeDims {
  /** Experts in the model. */
  readonly experts: number;
  /** e: experts on one device (experts / ep). */
  readonly localExperts: number;
  readonly topK: number;
  readonly capacityFactor: number;
  readonly dropless: boolean;
  /** How tokens reach expert-parallel peers (Megatron's token dispatcher). */
  readonly dispatcher: MoeDispatcher;
  /** Where each routed token is scaled by its router weight. */
  readonly routerWeights: RouterWeightsAt;
  /** f of a routed expert. */
  readonly ffnHidden: number;
  readonly sharedExperts: number;
  readonly sharedFfnHidden: number;
  /** Leading blocks with a dense MLP of the model's ffnHidden. */
  readonly denseLayers: number;
  /** The routed experts' working width (MoeSpec.latentSize); null: the hidden size. */
  readonly latentSize: number | null;
  /**
   * c: token slots per local expert for one microbatch on one device: its even share of the
   * topK·b·s routed tokens its ep peers send, times the capacity factor unless dropless (balanced
   * routing on average: Megatron's dropless default).
   */
  readonly capacity: number;
}

export type MlaDims = Omit<MlaSpec, never>;

/** A transformer spec with every default applied: the sizes the einsum letters stand for. */
export interface TransformerDims {
  readonly name: string;
  readonly layers: number;
  /** b */
  readonly microBatch: number;
  /** The model's sequence length. */
  readonly seqLen: number;
  /** s (and t, the key position, in attention): the tokens of each sequence one device holds. */
  readonly seqPerDevice: number;
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
  /** A gated activation runs as one kernel keeping only its two inputs (TransformerSpec.activationFusion). */
  readonly activationFusion: boolean;
  /** The gated activation's clamp (TransformerSpec.activationClamp); null: none. */
  readonly activationClamp: number | null;
  readonly gluLinearOffset: number;
  /** A learned sink logit per attention head (TransformerSpec.attentionSinks). */
  readonly attentionSinks: boolean;
  /** Queries and keys normalised per head (TransformerSpec.qkNorm). */
  readonly qkNorm: boolean;
  /** An RMSNorm runs as one kernel (TransformerSpec.normFusion); false: eager PyTorch's composite. */
  readonly normFusion: boolean;
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
  /** One fused attention kernel ('flash' or 'flash2'), not separate score and softmax kernels. */
  readonly flashAttention: boolean;
  /** The fused kernel is FlashAttention-2's ('flash2'), not the generation's own. */
  readonly flashAttention2: boolean;
  readonly moe: MoeDims | null;
  readonly mla: MlaDims | null;
  /**
   * Sliding-window attention: the keys a windowed query sees (its own position and size − 1 before
   * it), and every how many blocks one attends to the whole sequence (null: none does).
   */
  readonly slidingWindow: { readonly size: number; readonly fullAttentionEvery: number | null } | null;
  readonly mtpLayers: number;
  /** Every multi-token prediction depth runs the first one's weights (TransformerSpec.mtpRepeatedLayer). */
  readonly mtpRepeatedLayer: boolean;
  /** A hybrid model's layer pattern (TransformerSpec.hybridPattern), one symbol a layer; null: blocks. */
  readonly hybridPattern: string | null;
  /** The Mamba-2 mixers' shape where the pattern has Mamba layers (M); null otherwise. */
  readonly mamba: MambaDims | null;
  readonly contextParallel: { readonly degree: number; readonly commType: CpCommType };
  readonly expertParallel: number;
  readonly precision: Precision;
  /** What activations and weights are stored in (bf16 under quantized training: FP8, NVFP4). */
  readonly dtype: Dtype;
  /** What the linear layers' GEMMs run at, but in the blocks `bf16Layers` keeps in the stored dtype. */
  readonly gemmDtype: Dtype;
  /** Blocks at each end of the model whose GEMMs run in `dtype` (training.bf16Layers); 0 and 0 by default. */
  readonly bf16Layers: Bf16Layers;
}

/** A Mamba-2 mixer's sizes (TransformerSpec.mamba, defaults applied). */
export interface MambaDims {
  readonly heads: number;
  readonly headDim: number;
  readonly stateDim: number;
  readonly groups: number;
  readonly convKernel: number;
  readonly chunkSize: number;
}

/** Llama's FFN size for SwiGLU: two thirds of 4h (same parameters as a 4h GELU MLP), rounded up to 256. */
export function swigluFfnHidden(hidden: number): number {
  const multipleOf = 256;
  return Math.ceil(Math.floor((2 * 4 * hidden) / 3) / multipleOf) * multipleOf;
}

/** A window's keys per query where it is shorter than the sequence, else null (it windows nothing). */
function windowWithin(window: { readonly size: number } | null | undefined, seqLen: number): number | null {
  return window !== null && window !== undefined && window.size < seqLen ? window.size : null;
}

/** The model's sliding window where some block attends through one (block 1 always does then), else null. */
export function slidingWindowSize(dims: TransformerDims): number | null {
  return windowWithin(dims.slidingWindow, dims.seqLen);
}

/**
 * The window of block `index` (from 0): its keys per query, or null where it attends to the whole
 * sequence. Block n (counting from 1) attends fully when n is a multiple of fullAttentionEvery, as
 * Megatron-Core's is_layer_window_attention decides.
 */
export function attentionWindow(dims: TransformerDims, index: number): number | null {
  const every = dims.slidingWindow?.fullAttentionEvery ?? null;
  return every !== null && (index + 1) % every === 0 ? null : slidingWindowSize(dims);
}

/**
 * How a request's context parallelism exchanges keys and values: as it says, else the all-to-all
 * (Ulysses) for a transformer with a sliding window shorter than its sequence — Transformer Engine
 * runs a windowed context-parallel attention only so (or all-gathered), and Megatron-Bridge's gpt-oss
 * recipe sets cp_comm_type a2a for it — else the p2p ring.
 */
export function cpCommTypeOf(request: {
  readonly model: ModelSpec;
  readonly parallel?: { readonly cpCommType?: CpCommType | undefined } | undefined;
}): CpCommType {
  const stated = request.parallel?.cpCommType;
  if (stated !== undefined) return stated;
  const m = request.model;
  return m.kind === 'transformer' && windowWithin(m.slidingWindow, m.seqLen) !== null ? 'a2a' : 'p2p';
}

/** The gated MLPs: a gate and an up projection, multiplied. */
export function isGated(activation: Activation): boolean {
  return GATED_ACTIVATIONS.includes(activation);
}

function checkOptions(options: BuildOptions, spec: TransformerSpec): void {
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
  const cp = options.contextParallel?.degree ?? 1;
  // Causal load balancing cuts each sequence into 2·cp chunks (Megatron, DESIGN.md §4.2).
  if (!Number.isInteger(cp) || cp < 1 || (cp > 1 && spec.seqLen % (2 * cp) !== 0)) {
    issues.push({ path: 'cp', message: `seqLen ${spec.seqLen} does not split into 2·cp = ${2 * cp} chunks` });
  }
  if (
    options.contextParallel !== undefined &&
    !CpCommType.safeParse(options.contextParallel.commType).success
  ) {
    issues.push({ path: 'cpCommType', message: `must be one of ${CpCommType.options.join(', ')}` });
  }
  if (cp > 1 && spec.attention === 'eager') {
    issues.push({
      path: 'cp',
      message: 'context parallelism runs fused (flash) attention, not eager attention',
    });
  }
  const ep = options.expertParallel ?? 1;
  if (
    !Number.isInteger(ep) ||
    ep < 1 ||
    (ep > 1 && (spec.moe === undefined || spec.moe.experts % ep !== 0))
  ) {
    issues.push({
      path: 'ep',
      message:
        spec.moe === undefined
          ? 'expert parallelism needs a mixture of experts'
          : `${spec.moe.experts} experts do not split over ep = ${ep}`,
    });
  }
  const kept = options.bf16Layers;
  if (
    kept !== undefined &&
    !(
      Number.isInteger(kept.first) &&
      Number.isInteger(kept.last) &&
      kept.first >= 0 &&
      kept.last >= 0 &&
      kept.first + kept.last <= spec.layers
    )
  ) {
    issues.push({
      path: 'bf16Layers',
      message: `keeps ${kept.first} + ${kept.last} blocks in bf16 of a model with ${spec.layers}`,
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
  checkOptions(options, spec);
  const gpt = spec.activation === 'gelu';
  const kvHeads = spec.kvHeads ?? spec.heads;
  const contextParallel = options.contextParallel ?? { degree: 1, commType: 'p2p' };
  const expertParallel = options.expertParallel ?? 1;
  const seqPerDevice = spec.seqLen / contextParallel.degree;
  const ffnHidden =
    spec.ffnHidden ?? (isGated(spec.activation) ? swigluFfnHidden(spec.hidden) : 4 * spec.hidden);
  const moe =
    spec.moe === undefined
      ? null
      : moeDims(spec.moe, ffnHidden, options.microBatch * seqPerDevice, expertParallel);
  const quantized = quantizedGemmDtype(options.precision);
  const dtype = quantized === null ? options.precision : 'bf16';
  return {
    name: spec.name ?? 'transformer',
    layers: spec.layers,
    microBatch: options.microBatch,
    seqLen: spec.seqLen,
    seqPerDevice,
    hidden: spec.hidden,
    heads: spec.heads,
    headDim: spec.headDim ?? spec.hidden / spec.heads,
    kvHeads,
    groupSize: spec.heads / kvHeads,
    ffnHidden,
    vocab: spec.vocab,
    activation: spec.activation,
    activationFusion: spec.activationFusion,
    activationClamp: spec.activationClamp ?? null,
    gluLinearOffset: spec.gluLinearOffset,
    attentionSinks: spec.attentionSinks,
    qkNorm: spec.qkNorm,
    normFusion: spec.normFusion,
    norm: spec.norm ?? (gpt ? 'layernorm' : 'rmsnorm'),
    tiedEmbeddings: spec.tiedEmbeddings ?? gpt,
    positionEmbedding: spec.positionEmbedding ?? (gpt ? 'learned' : 'rope'),
    bias: spec.bias ?? gpt,
    dropout: spec.dropout ?? gpt,
    flashAttention: spec.attention !== 'eager',
    flashAttention2: spec.attention === 'flash2',
    moe,
    mla: spec.mla ?? null,
    slidingWindow:
      spec.slidingWindow === undefined
        ? null
        : {
            size: spec.slidingWindow.size,
            fullAttentionEvery: spec.slidingWindow.fullAttentionEvery ?? null,
          },
    mtpLayers: spec.mtpLayers,
    mtpRepeatedLayer: spec.mtpRepeatedLayer,
    hybridPattern: spec.hybridPattern ?? null,
    mamba: spec.hybridPattern?.includes(HYBRID_LAYER_SYMBOLS.mamba) ? (spec.mamba ?? null) : null,
    contextParallel,
    expertParallel,
    precision: options.precision,
    dtype,
    gemmDtype: quantized ?? dtype,
    bf16Layers: { first: options.bf16Layers?.first ?? 0, last: options.bf16Layers?.last ?? 0 },
  };
}

/** A request's training precision as the model is built with it: the format and the blocks kept out of it. */
export function precisionOptions(training: TrainingSpec): Pick<BuildOptions, 'precision' | 'bf16Layers'> {
  return {
    precision: training.precision,
    ...(training.bf16Layers === undefined ? {} : { bf16Layers: training.bf16Layers }),
  };
}

/**
 * The dims block `index` is built with: its GEMMs in the stored dtype where training.bf16Layers keeps
 * it out of the quantized format (Megatron-Core's get_fp8_context / get_fp4_context hand such a layer
 * a null context: plain bf16 GEMMs, no casts, no quantized weight copies), else the model's.
 */
export function blockDims(dims: TransformerDims, index: number): TransformerDims {
  return keptInBf16(dims, index) && dims.gemmDtype !== dims.dtype ? { ...dims, gemmDtype: dims.dtype } : dims;
}

/** Whether training.bf16Layers keeps block `index` (0-based, over the whole model) in bf16. */
export function keptInBf16(dims: TransformerDims, index: number): boolean {
  const { first, last } = dims.bf16Layers;
  return index < first || index >= dims.layers - last;
}

/** The blocks training.bf16Layers keeps in bf16, in order. */
export function bf16Blocks(dims: TransformerDims): number[] {
  return Array.from({ length: dims.layers }, (_, i) => i).filter((i) => keptInBf16(dims, i));
}

function moeDims(
  moe: NonNullable<TransformerSpec['moe']>,
  ffnHidden: number,
  tokensPerDevice: number,
  ep: number,
): MoeDims {
  const expertFfn = moe.ffnHidden ?? ffnHidden;
  // Each device's experts take the routed tokens of all ep peers: its share is topK·tokens/e per expert.
  const perExpert = (moe.topK * tokensPerDevice * ep) / moe.experts;
  return {
    experts: moe.experts,
    localExperts: moe.experts / ep,
    topK: moe.topK,
    capacityFactor: moe.capacityFactor,
    dropless: moe.dropless,
    dispatcher: moe.dispatcher ?? 'alltoall',
    routerWeights: moe.routerWeights ?? 'activation',
    ffnHidden: expertFfn,
    sharedExperts: moe.sharedExperts,
    sharedFfnHidden: moe.sharedFfnHidden ?? expertFfn,
    denseLayers: moe.denseLayers,
    latentSize: moe.latentSize ?? null,
    capacity: Math.max(1, Math.ceil(moe.dropless ? perExpert : perExpert * moe.capacityFactor)),
  };
}
