import type { Dtype, Exchange, OpGraphSpec, OpKind, OpSpec, TensorSpec } from '../schema/graph.ts';
import type { RecomputeModule } from '../schema/vocabulary.ts';

export interface OpOptions {
  readonly kind: OpKind;
  /** The tensor cores' dtype when the GEMM runs below its operands' precision (FP8). */
  readonly computeDtype?: Dtype;
  /** The local name of the matmul this one shares a linear module with (OpSpec.fusedWith). */
  readonly fusedWith?: string;
  readonly exchange?: Exchange;
  /** A routing op's token dims and the slot dim they land in (OpSpec.routes). */
  readonly routes?: NonNullable<OpSpec['routes']>;
  /** Forward FLOPs when the einsum overstates them (gathers, fused kernels). */
  readonly flops?: number;
  readonly reducedDims?: readonly string[];
  /** A fused attention kernel under a causal mask (it skips the masked half of the scores). */
  readonly causal?: boolean;
  /** A causal attention kernel's sliding window, keys per query (OpSpec.window). */
  readonly window?: number;
  /** The inputs its backward keeps, where fewer than its kind's rule (OpSpec.savedInputs). */
  readonly savedInputs?: readonly number[];
  /** A norm run as eager PyTorch's composite of kernels (OpSpec.composite). */
  readonly composite?: boolean;
  /** A scan op's recurrence (OpSpec.scan). */
  readonly scan?: NonNullable<OpSpec['scan']>;
}

/**
 * Accumulates one layer's graph. Every tensor and op it declares is named `<prefix>.<local>`, so
 * the layers of a model can be concatenated without clashes; tensors owned by another layer (the
 * residual stream coming in) are declared with `external` under their owner's name.
 */
export class LayerGraphBuilder {
  private readonly tensors: TensorSpec[] = [];
  private readonly ops: OpSpec[] = [];
  /** The recompute modules the ops added now belong to, innermost first. */
  private readonly modules: RecomputeModule[] = [];

  constructor(
    readonly prefix: string,
    /** Dtype of activations and parameters (the training precision). */
    readonly dtype: Dtype,
    /**
     * The prefix its parameters are named under, where it runs another builder's weights (a repeated
     * multi-token prediction module): declaring one again reads the same tensor.
     */
    readonly paramPrefix: string = prefix,
  ) {}

  /** An activation of this layer; returns its full name. */
  activation(local: string, shape: readonly number[], dtype: Dtype = this.dtype): string {
    return this.declare(`${this.prefix}.${local}`, shape, dtype, false);
  }

  /** A trained parameter of this layer; returns its full name. One declared again is the same tensor. */
  param(local: string, shape: readonly number[]): string {
    const name = `${this.paramPrefix}.${local}`;
    const known = this.tensors.find((t) => t.name === name);
    if (known === undefined) return this.declare(name, shape, this.dtype, true);
    if (!known.param || known.shape.join(',') !== shape.join(','))
      throw new Error(`${name} declared again as another tensor (${shape.join('×')})`);
    return name;
  }

  /** A tensor written outside this layer (the residual stream), declared under its own name. */
  external(name: string, shape: readonly number[], dtype: Dtype = this.dtype): string {
    return this.declare(name, shape, dtype, false);
  }

  op(local: string, einsum: string, inputs: readonly string[], output: string, options: OpOptions): void {
    this.ops.push({
      name: `${this.prefix}.${local}`,
      einsum,
      inputs: [...inputs],
      output,
      kind: options.kind,
      selectiveRecompute: false,
      ...(this.modules.length > 0 ? { recomputeModules: [...this.modules] } : {}),
      ...(options.causal === true ? { causal: true } : {}),
      ...(options.window === undefined ? {} : { window: options.window }),
      ...(options.flops === undefined ? {} : { flops: options.flops }),
      ...(options.reducedDims === undefined ? {} : { reducedDims: [...options.reducedDims] }),
      ...(options.computeDtype === undefined ? {} : { computeDtype: options.computeDtype }),
      ...(options.fusedWith === undefined ? {} : { fusedWith: `${this.prefix}.${options.fusedWith}` }),
      ...(options.exchange === undefined ? {} : { exchange: options.exchange }),
      ...(options.savedInputs === undefined ? {} : { savedInputs: [...options.savedInputs] }),
      ...(options.composite === true ? { composite: true } : {}),
      ...(options.scan === undefined ? {} : { scan: { ...options.scan } }),
      ...(options.routes === undefined
        ? {}
        : { routes: { tokens: [...options.routes.tokens], slots: options.routes.slots } }),
    });
  }

  /**
   * Dropout on `input` (letters `letters`, e.g. "bsh") when `enabled`; returns the tensor the next
   * op reads, `input` itself when disabled.
   */
  dropout(
    enabled: boolean,
    local: string,
    input: string,
    output: { readonly local: string; readonly letters: string; readonly shape: readonly number[] },
  ): string {
    if (!enabled) return input;
    const out = this.activation(output.local, output.shape);
    this.op(local, `${output.letters}->${output.letters}`, [input], out, { kind: 'dropout' });
    return out;
  }

  /**
   * Adds what `body` builds inside one of Megatron-LM's recompute modules (nested in the ones
   * already open): the ops selective recomputation of that module redoes.
   */
  within<T>(module: RecomputeModule, body: () => T): T {
    this.modules.unshift(module);
    try {
      return body();
    } finally {
      this.modules.shift();
    }
  }

  /**
   * A bias added to `input` (letters `letters`, bias over the trailing `biasLetters`) when
   * `enabled`; returns the tensor the next op reads, `input` itself when disabled.
   */
  bias(
    enabled: boolean,
    local: string,
    input: string,
    output: {
      readonly local: string;
      readonly letters: string;
      readonly shape: readonly number[];
      readonly biasLetters: string;
      readonly biasShape: readonly number[];
    },
  ): string {
    if (!enabled) return input;
    const b = this.param(`${local}_bias`, output.biasShape);
    const out = this.activation(output.local, output.shape);
    this.op(local, `${output.letters},${output.biasLetters}->${output.letters}`, [input, b], out, {
      kind: 'add',
    });
    return out;
  }

  /**
   * Takes over everything another builder declared (a block built under its own prefix inside this
   * layer); tensors both declared (the one it reads from this layer) are kept once.
   */
  absorb(other: LayerGraphBuilder): void {
    const known = new Set(this.tensors.map((t) => t.name));
    const built = other.build();
    for (const t of built.tensors) if (!known.has(t.name)) this.tensors.push(t);
    this.ops.push(...built.ops);
  }

  build(): OpGraphSpec {
    return { name: this.prefix, tensors: [...this.tensors], ops: [...this.ops] };
  }

  private declare(name: string, shape: readonly number[], dtype: Dtype, param: boolean): string {
    this.tensors.push({ name, shape: [...shape], dtype, param });
    return name;
  }
}
