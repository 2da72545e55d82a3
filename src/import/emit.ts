import { DIM } from '../graph/letters.ts';
import { InvalidInputError } from '../schema/errors.ts';
import type { Dtype, OpGraphSpec, OpSpec, TensorSpec } from '../schema/graph.ts';
import type { Precision } from '../schema/vocabulary.ts';
import type { Lowering, OpRecord } from './lowering.ts';
import { ELEM, FLOAT_TYPES } from './tensor-info.ts';
import type { SymbolicDim } from './walk.ts';

export interface EmitOptions {
  readonly name: string;
  readonly precision: Precision;
  readonly batchDim: string;
  readonly sequenceDim?: string;
  readonly symbols: readonly SymbolicDim[];
}

/** Letters for factors without a known role: every letter that `DIM` does not give a meaning. */
const ROLE_LETTERS = new Set<string>(Object.values(DIM));
const FREE_LETTERS = [...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'].filter(
  (l) => !ROLE_LETTERS.has(l),
);

function dtypeOf(elemType: number, precision: Precision): Dtype {
  if (FLOAT_TYPES.has(elemType)) return precision;
  if (elemType === ELEM.int64) return 'int64';
  if (elemType === ELEM.bool) return 'bool';
  if (elemType === 2 || elemType === 3) return 'int8';
  return 'int32';
}

/**
 * Which factors mean batch, sequence, heads, head dim, vocabulary, hidden and FFN size: the letters
 * that let Megatron's layouts, the batch-split report and the tensor-parallel pinning read the
 * graph as they read the transformer builder's.
 */
function roles(L: Lowering, options: EmitOptions): Map<number, string> {
  const out = new Map<number, string>();
  const give = (v: number, letters: readonly string[]) => {
    const leaves = L.factors.leaves(v);
    if (leaves.length !== letters.length) return;
    leaves.forEach((a, i) => {
      if (!out.has(a)) out.set(a, letters[i]!);
    });
  };
  for (const s of options.symbols) {
    if (!L.tensors.has(s.tensor)) continue;
    if (s.name === options.batchDim) give(L.dim(s.tensor, s.axis), [DIM.batch]);
    if (s.name === options.sequenceDim) give(L.dim(s.tensor, s.axis), [DIM.seq]);
  }
  for (const { v, role } of L.hints) {
    if (role === 'heads') {
      give(v, [DIM.heads]);
      give(v, [DIM.kvHeads, DIM.groupSize]);
    } else give(v, [{ headDim: DIM.headDim, vocab: DIM.vocab, hidden: DIM.hidden }[role]]);
  }
  // FFN inner factors: written by one weight matmul and contracted by another (fc1 → fc2);
  // convolutions' channels are not FFN dims, though they flow the same way.
  const created = new Set<number>();
  const contracted = new Set<number>();
  for (const r of L.records) {
    if (
      (r.op !== 'MatMul' && r.op !== 'Gemm') ||
      !r.operands.some((o) => L.tensors.get(L.base(o.tensor))?.origin === 'weight')
    )
      continue;
    const leaves = (vars: readonly (number | null)[]) =>
      vars.flatMap((v) => (v === null ? [] : L.factors.leaves(v)));
    const outs = new Set(leaves(r.output.vars));
    const ins = new Set(
      r.operands.flatMap((o) => (L.tensors.get(L.base(o.tensor))?.origin === 'weight' ? [] : leaves(o.vars))),
    );
    for (const a of outs) if (!ins.has(a)) created.add(a);
    for (const o of r.operands) for (const a of leaves(o.vars)) if (!outs.has(a)) contracted.add(a);
  }
  // An untied LM head without a loss in the graph: its output dim has the vocabulary's size.
  const vocabSizes = new Set([...out].flatMap(([a, l]) => (l === DIM.vocab ? [L.factors.size(a)] : [])));
  for (const a of created) {
    if (out.has(a)) continue;
    if (contracted.has(a)) out.set(a, DIM.ffn);
    else if (vocabSizes.has(L.factors.size(a))) out.set(a, DIM.vocab);
  }
  return out;
}

/** The flat factors of a tensor, axis after axis. */
function flatLeaves(L: Lowering, name: string): number[] {
  const shape = L.tensors.get(name)!.shape;
  return shape.flatMap((_, axis) => L.factors.leaves(L.dim(name, axis)));
}

/** Per factor of a view (in order): the position of the same factor in the tensor it reads, or null (broadcast). */
function flatSource(L: Lowering, name: string): { base: string; source: (number | null)[] } {
  const view = L.views.get(name);
  if (view === undefined) return { base: name, source: flatLeaves(L, name).map((_, i) => i) };
  const parent = flatSource(L, view.parent);
  const ranges = (t: string) => {
    let at = 0;
    return L.tensors.get(t)!.shape.map((_, axis) => {
      const n = L.factors.leaves(L.dim(t, axis)).length;
      at += n;
      return { start: at - n, count: n };
    });
  };
  const p = ranges(view.parent);
  const v = ranges(name);
  let local: (number | null)[];
  if (view.step.kind === 'flat') local = flatLeaves(L, name).map((_, i) => i);
  else if (view.step.kind === 'perm') {
    const perm = view.step.perm;
    local = v.flatMap((_, i) => Array.from({ length: p[perm[i]!]!.count }, (_, j) => p[perm[i]!]!.start + j));
  } else {
    const offset = v.length - p.length;
    local = v.flatMap((r, i) => {
      const from = p[i - offset];
      return Array.from({ length: r.count }, (_, j) =>
        from !== undefined && from.count === r.count ? from.start + j : null,
      );
    });
  }
  return { base: parent.base, source: local.map((i) => (i === null ? null : parent.source[i]!)) };
}

class OpLetters {
  private readonly byKey = new Map<string, string>();
  private readonly used = new Set<string>();
  readonly sizes = new Map<string, number>();

  constructor(
    private readonly record: OpRecord,
    private readonly L: Lowering,
    private readonly roleOf: ReadonlyMap<number, string>,
  ) {}

  private family(v: number): number {
    let r = v;
    while (this.record.family.has(r) && this.record.family.get(r) !== r) r = this.record.family.get(r)!;
    return r;
  }

  letters(v: number): string[] {
    return this.L.factors.leaves(v).map((atom) => {
      const key = `${this.family(v)}:${atom}`;
      let letter = this.byKey.get(key);
      if (letter === undefined) {
        const role = this.roleOf.get(atom);
        const wanted = role === DIM.seq && this.used.has(DIM.seq) ? DIM.keySeq : role;
        letter =
          wanted !== undefined && !this.used.has(wanted)
            ? wanted
            : FREE_LETTERS.find((l) => !this.used.has(l));
        if (letter === undefined)
          throw new InvalidInputError(
            [{ path: 'model', message: `op "${this.record.name}" has more dims than einsum letters` }],
            'ONNX model',
          );
        this.byKey.set(key, letter);
        this.used.add(letter);
        this.sizes.set(letter, this.L.factors.size(atom));
      }
      return letter;
    });
  }

  /** The einsum operand of a tensor as the op reads it: the letters of the tensor it finally views. */
  operand(tensor: string, vars: readonly (number | null)[]): { base: string; letters: string } {
    const viewLetters = vars.flatMap((v) => (v === null ? [] : this.letters(v)));
    const { base, source } = flatSource(this.L, tensor);
    const count = flatLeaves(this.L, base).length;
    const letters = Array.from({ length: count }, (_, p) => {
      const q = source.indexOf(p);
      if (q < 0) throw new Error(`view "${tensor}" of "${base}" drops factor ${p} (an importer bug)`);
      return viewLetters[q]!;
    });
    return { base, letters: letters.join('') };
  }
}

/** The graph in meshplan's format: tensors with their factors as dims, ops as einsums. */
export function emitGraph(L: Lowering, options: EmitOptions): OpGraphSpec {
  const failed = L.factors.solve();
  if (failed.length > 0) {
    throw new InvalidInputError(
      failed.map((what) => ({ path: 'model', message: `cannot carry dims through the ${what}` })),
      'ONNX model',
    );
  }
  const roleOf = roles(L, options);
  const tensors = new Map<string, TensorSpec>();
  const produced = new Set(L.records.map((r) => L.base(r.output.tensor)));
  const declare = (base: string) => {
    if (tensors.has(base)) return;
    const info = L.tensors.get(base)!;
    const shape = flatLeaves(L, base).map((a) => L.factors.size(a));
    if (shape.length > 8)
      throw new InvalidInputError(
        [{ path: 'model', message: `tensor "${base}" has more than 8 dims once factored` }],
        'ONNX model',
      );
    tensors.set(base, {
      name: base,
      shape,
      dtype: dtypeOf(info.elemType, options.precision),
      param: info.origin === 'weight' && !produced.has(base),
    });
  };
  const ops: OpSpec[] = L.records.map((r) => {
    const letters = new OpLetters(r, L, roleOf);
    const operands = r.operands.map((o) => letters.operand(o.tensor, o.vars));
    const output = letters.operand(r.output.tensor, r.output.vars);
    const inputs = operands.map((o) => o.base);
    const terms = operands.map((o) => o.letters);
    const missing = [...output.letters].filter((l) => !terms.some((t) => t.includes(l)));
    if (missing.length > 0) {
      // Dims the op creates (a slice's or concat's new extent): an einsum takes every output letter
      // from an input, so a tiny bool "extent" input carries them.
      const extent = `${r.name}:extent`;
      tensors.set(extent, {
        name: extent,
        shape: missing.map((l) => letters.sizes.get(l)!),
        dtype: 'bool',
        param: false,
      });
      inputs.push(extent);
      terms.push(missing.join(''));
    }
    for (const t of [...operands.map((o) => o.base), output.base]) declare(t);
    // A halo splits a window's rows into contiguous blocks: only its major letter; the minor
    // factors of a split row would interleave rows, which no halo serves.
    const halo: Record<string, number> = {};
    const haloMinors: number[] = [];
    for (const [v, width] of r.halo) {
      const [major, ...minor] = letters.letters(v);
      if (major !== undefined && output.letters.includes(major)) halo[major] = width;
      if (minor.length > 0) haloMinors.push(v);
    }
    const reduced = [...r.reduced]
      .flatMap((v) => letters.letters(v))
      .concat(haloMinors.flatMap((v) => letters.letters(v).slice(1)))
      .filter((l) => terms.some((t) => t.includes(l)));
    for (const l of reduced) delete halo[l];
    return {
      name: r.name,
      einsum: `${terms.join(',')}->${output.letters}`,
      inputs,
      output: output.base,
      kind: r.kind,
      flops: r.flops,
      selectiveRecompute: r.selectiveRecompute,
      ...(r.causal === true ? { causal: true } : {}),
      ...(reduced.length > 0 ? { reducedDims: [...new Set(reduced)] } : {}),
      ...(Object.keys(halo).length > 0 ? { halo } : {}),
    };
  });
  return { name: options.name, tensors: [...tensors.values()], ops };
}
