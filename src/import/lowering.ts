import type { OpKind } from '../schema/graph.ts';
import { DimFactors } from './factors.ts';
import type { OnnxNode } from './onnx-file.ts';
import { nodeError, type TensorInfo } from './tensor-info.ts';

/** A tensor as an op reads or writes it: one index variable per dim (null for a size-1 dim). */
export interface Operand {
  readonly tensor: string;
  readonly vars: readonly (number | null)[];
}

/** An op of the graph to be, over index variables rather than einsum letters. */
export interface OpRecord {
  readonly name: string;
  /** The ONNX operator it comes from (fusions keep the last one's). */
  readonly op: string;
  readonly kind: OpKind;
  operands: Operand[];
  output: Operand;
  /** Forward FLOPs of the whole op, as the kernel does them. */
  flops: number;
  /** Variables the op may not be split along (a norm's hidden dim, a softmax's key position). */
  readonly reduced: Set<number>;
  /** Sliding-window variables split with a halo: the rows a device needs from each neighbour. */
  readonly halo: Map<number, number>;
  /**
   * Variables the op relates itself (a strided convolution's input row = output row × stride): their
   * shared factors get one letter. Unrelated variables of the same size (attention's query and key
   * positions) get letters of their own even where their factors coincide.
   */
  readonly family: Map<number, number>;
  selectiveRecompute: boolean;
  /** A fused attention kernel under a constant (causal) mask: it skips the masked half. */
  causal?: boolean;
}

/**
 * How a view's dims come from its parent's: the same elements in the same order (reshape, squeeze,
 * unsqueeze, flatten, identity, cast), permuted (transpose), or broadcast (expand).
 */
export type ViewStep =
  | { readonly kind: 'flat' }
  | { readonly kind: 'perm'; readonly perm: readonly number[] }
  | { readonly kind: 'expand' };

export interface View {
  readonly parent: string;
  readonly step: ViewStep;
}

/** A role a variable's factors play, for the letters that give a graph its meaning (graph/letters). */
export type RoleHint = 'heads' | 'headDim' | 'vocab' | 'hidden';

/**
 * Everything the lowering of ONNX nodes collects: op records over index variables, layout ops kept
 * as views (a consumer reads the viewed tensor directly with its dims relabelled, as the einsum of
 * a transformer block reads q in (b, s, n, d) order without a copy), and role hints.
 */
export class Lowering {
  readonly factors = new DimFactors();
  readonly records: OpRecord[] = [];
  readonly views = new Map<string, View>();
  readonly hints: { readonly v: number; readonly role: RoleHint }[] = [];
  private readonly dims = new Map<string, number[]>();

  constructor(readonly tensors: ReadonlyMap<string, TensorInfo>) {}

  info(node: OnnxNode, name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (t === undefined) throw nodeError(node, `reads "${name}", which nothing defines`);
    return t;
  }

  isConst(name: string): boolean {
    return name === '' || (this.tensors.get(name)?.origin ?? 'const') === 'const';
  }

  /** The variable of a tensor's dim (one per dim of each tensor, shared by every op using it). */
  dim(name: string, axis: number): number {
    let list = this.dims.get(name);
    if (list === undefined) {
      list = this.tensors.get(name)!.shape.map((size) => this.factors.fresh(size));
      this.dims.set(name, list);
    }
    return list[axis]!;
  }

  /** A fresh index variable of an op. */
  fresh(size: number): number {
    return this.factors.fresh(size);
  }

  /** The tensor read or written with these variables; each ties to the tensor's own dim. */
  bind(name: string, vars: readonly (number | null)[]): Operand {
    vars.forEach((v, axis) => {
      if (v !== null) this.factors.same(this.dim(name, axis), v);
    });
    return { tensor: name, vars };
  }

  /** Fresh variables for a tensor's dims (null for size-1 dims). */
  freshFor(name: string): (number | null)[] {
    return this.tensors.get(name)!.shape.map((size) => (size === 1 ? null : this.fresh(size)));
  }

  /**
   * Variables of an operand broadcast (NumPy rules) against the output's: an axis of the output's
   * size shares its variable, a size-1 axis has none.
   */
  broadcastVars(name: string, out: readonly (number | null)[]): (number | null)[] {
    const shape = this.tensors.get(name)!.shape;
    const offset = out.length - shape.length;
    return shape.map((size, i) => (size === 1 ? null : out[i + offset]!));
  }

  view(output: string, parent: string, step: ViewStep): void {
    const v = this.tensors.get(output)!.shape;
    const p = this.tensors.get(parent)!.shape;
    this.views.set(output, { parent, step });
    if (step.kind === 'flat') {
      this.factors.group(
        p.map((_, i) => this.dim(parent, i)),
        v.map((_, i) => this.dim(output, i)),
        `reshape of "${parent}" [${p}] into "${output}" [${v}]`,
      );
    } else if (step.kind === 'perm') {
      step.perm.forEach((from, i) => {
        this.factors.same(this.dim(output, i), this.dim(parent, from));
      });
    } else {
      const offset = v.length - p.length;
      p.forEach((size, i) => {
        if (size === v[i + offset]) this.factors.same(this.dim(output, i + offset), this.dim(parent, i));
      });
    }
  }

  record(
    op: Omit<OpRecord, 'reduced' | 'halo' | 'family' | 'selectiveRecompute'> & Partial<OpRecord>,
  ): OpRecord {
    const record: OpRecord = {
      reduced: new Set(),
      halo: new Map(),
      family: new Map(),
      selectiveRecompute: false,
      ...op,
    };
    this.records.push(record);
    return record;
  }

  /** Relates two variables inside one op (see `OpRecord.family`). */
  link(record: OpRecord, a: number, b: number): void {
    const root = (v: number): number => {
      let r = v;
      while (record.family.has(r) && record.family.get(r) !== r) r = record.family.get(r)!;
      return r;
    };
    const ra = root(a);
    const rb = root(b);
    if (ra !== rb) record.family.set(rb, ra);
  }

  /** The tensor a view finally reads. */
  base(name: string): string {
    let n = name;
    for (let v = this.views.get(n); v !== undefined; v = this.views.get(n)) n = v.parent;
    return n;
  }
}
