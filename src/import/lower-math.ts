import { CROSS_ENTROPY_FLOPS_PER_LOGIT } from '../graph/kernels.ts';
import type { OpKind } from '../schema/graph.ts';
import type { Lowering, Operand } from './lowering.ts';
import type { OnnxNode } from './onnx-file.ts';
import { attrInt, attrInts, nodeError, normAxis, numel } from './tensor-info.ts';

/** Inputs that are not folded constants: the tensors an op really reads. */
export function live(L: Lowering, node: OnnxNode, indices?: readonly number[]): string[] {
  const picked = indices === undefined ? node.inputs : indices.map((i) => node.inputs[i] ?? '');
  return picked.filter((name) => !L.isConst(name));
}

const outShape = (L: Lowering, node: OnnxNode) => L.info(node, node.outputs[0]!).shape;

/** An op over the output's own dims: elementwise math, activations, comparisons, Where. */
export function lowerElementwise(L: Lowering, node: OnnxNode, kind?: OpKind): void {
  const out = node.outputs[0]!;
  const vars = L.freshFor(out);
  const inputs = live(L, node);
  const sameShape = inputs.every((t) => L.info(node, t).shape.join() === outShape(L, node).join());
  const residual = (node.opType === 'Add' || node.opType === 'Sub') && inputs.length === 2 && sameShape;
  L.record({
    name: node.name,
    op: node.opType,
    kind: kind ?? (residual ? 'add' : 'elementwise'),
    operands: inputs.map((t) => L.bind(t, L.broadcastVars(t, vars))),
    output: L.bind(out, vars),
    flops: numel(outShape(L, node)),
  });
}

/** MatMul with NumPy's batch broadcasting; 1-D operands as ONNX promotes them. */
export function lowerMatMul(L: Lowering, node: OnnxNode): void {
  const [a, b] = [node.inputs[0]!, node.inputs[1]!];
  const out = node.outputs[0]!;
  const as = L.info(node, a).shape;
  const bs = L.info(node, b).shape;
  const os = outShape(L, node);
  const k = L.fresh(as.at(-1)!);
  const outVars = L.freshFor(out);
  const batchRank = os.length - (as.length > 1 ? 1 : 0) - (bs.length > 1 ? 1 : 0);
  const batchOf = (shape: readonly number[], core: number) =>
    shape.slice(0, shape.length - core).map((size, i, all) => {
      const at = batchRank - all.length + i;
      return size === 1 ? null : outVars[at]!;
    });
  const aVars = as.length === 1 ? [k] : [...batchOf(as, 2), as.at(-2) === 1 ? null : outVars[batchRank]!, k];
  const bVars = bs.length === 1 ? [k] : [...batchOf(bs, 2), k, bs.at(-1) === 1 ? null : outVars.at(-1)!];
  if (L.isConst(a) || L.isConst(b))
    throw nodeError(node, 'a matrix product with a constant operand is not supported');
  L.record({
    name: node.name,
    op: node.opType,
    kind: 'matmul',
    operands: [L.bind(a, aVars), L.bind(b, bVars)],
    output: L.bind(out, outVars),
    flops: 2 * numel(os) * as.at(-1)!,
  });
}

export function lowerGemm(L: Lowering, node: OnnxNode): void {
  const [a, b, c] = [node.inputs[0]!, node.inputs[1]!, node.inputs[2] ?? ''];
  const out = node.outputs[0]!;
  const [m, n] = L.freshFor(out) as [number | null, number | null];
  const k = L.fresh(attrInt(node, 'transA', 0) ? L.info(node, a).shape[0]! : L.info(node, a).shape[1]!);
  const operands: Operand[] = [
    L.bind(a, attrInt(node, 'transA', 0) ? [k, m] : [m, k]),
    L.bind(b, attrInt(node, 'transB', 0) ? [n, k] : [k, n]),
  ];
  if (!L.isConst(c)) operands.push(L.bind(c, L.broadcastVars(c, [m, n])));
  L.record({
    name: node.name,
    op: node.opType,
    kind: 'matmul',
    operands,
    output: L.bind(out, [m, n]),
    flops: 2 * numel(outShape(L, node)) * L.factors.size(k),
  });
}

export function lowerEinsum(L: Lowering, node: OnnxNode): void {
  const equation = String(node.attributes.get('equation') ?? '').replace(/\s+/g, '');
  const [lhs, rhs] = equation.split('->');
  if (rhs === undefined || equation.includes('.'))
    throw nodeError(node, `equation "${equation}" needs an explicit output and no ellipsis`);
  const terms = lhs!.split(',');
  const letterVar = new Map<string, number>();
  const varsOf = (term: string, name: string) =>
    [...term].map((l, i) => {
      const size = L.info(node, name).shape[i]!;
      if (size === 1) return null;
      if (!letterVar.has(l)) letterVar.set(l, L.fresh(size));
      return letterVar.get(l)!;
    });
  const operands = node.inputs.map((t, i) => L.bind(t, varsOf(terms[i]!, t)));
  const output = L.bind(node.outputs[0]!, varsOf(rhs, node.outputs[0]!));
  const points = [...letterVar.values()].reduce((p, v) => p * L.factors.size(v), 1);
  const contracts = [...letterVar.keys()].some((l) => !rhs.includes(l));
  L.record({
    name: node.name,
    op: node.opType,
    kind: contracts ? 'matmul' : 'elementwise',
    operands,
    output,
    flops: contracts ? 2 * points : points,
  });
}

/**
 * A sliding window over spatial dims (Conv, pooling). Per spatial axis: one variable when the extent
 * is kept (stride 1, same padding), else an input variable the op may not split (it reads windows
 * across it) and an output variable of its own. A strided window's rows could be factored as (output
 * row, stride phase), but the factors would spread back through every earlier layer (a 224-pixel
 * axis after four strides is 7·2·2·2·2) for splits that no op offers. A kept axis whose window is
 * wider than one element splits with a halo: each device exchanges ⌈(k − 1)·dilation / 2⌉ border
 * rows with each neighbour (the cost model prices it); a changed axis's output is not split either.
 */
function spatialVars(L: Lowering, node: OnnxNode, kernel: readonly number[]) {
  const x = L.info(node, node.inputs[0]!).shape.slice(2);
  const y = outShape(L, node).slice(2);
  const dilations = attrInts(node, 'dilations') ?? x.map(() => 1);
  const unsplittable: number[] = [];
  const halo = new Map<number, number>();
  const xs: (number | null)[] = [];
  const ys: (number | null)[] = [];
  x.forEach((size, i) => {
    const out = y[i] === 1 ? null : L.fresh(y[i]!);
    ys.push(out);
    const kept = out !== null && size === y[i];
    if (size === 1) xs.push(null);
    else if (kept) xs.push(out);
    else {
      const v = L.fresh(size);
      xs.push(v);
      unsplittable.push(v);
    }
    if (out === null || kernel[i]! <= 1) return;
    if (kept) halo.set(out, Math.ceil(((kernel[i]! - 1) * (dilations[i] ?? 1)) / 2));
    else unsplittable.push(out);
  });
  return { xs, ys, unsplittable, halo };
}

export function lowerConv(L: Lowering, node: OnnxNode): void {
  const [x, w, bias] = [node.inputs[0]!, node.inputs[1]!, node.inputs[2] ?? ''];
  const out = node.outputs[0]!;
  const ws = L.info(node, w).shape;
  const groups = attrInt(node, 'group', 1);
  const kernel = ws.slice(2);
  const { xs, ys, unsplittable, halo } = spatialVars(L, node, kernel);
  const b = L.info(node, x).shape[0] === 1 ? null : L.fresh(L.info(node, x).shape[0]!);
  const o = L.fresh(ws[0]!);
  const cPerGroup = ws[1] === 1 ? null : L.fresh(ws[1]!);
  let c = cPerGroup;
  let oPerGroup: number | null = null;
  if (groups > 1) {
    // Grouped convolution: channels are (group, channel within group) on both sides.
    const g = L.fresh(groups);
    c = L.fresh(ws[1]! * groups);
    oPerGroup = L.fresh(ws[0]! / groups);
    L.factors.group([c], [g, ...(cPerGroup === null ? [] : [cPerGroup])], `groups of ${node.name}`);
    L.factors.group([o], [g, oPerGroup], `groups of ${node.name}`);
  }
  const taps = kernel.map((k) => (k === 1 ? null : L.fresh(k)));
  const operands = [L.bind(x, [b, c, ...xs]), L.bind(w, [o, cPerGroup, ...taps])];
  if (!L.isConst(bias)) operands.push(L.bind(bias, [o]));
  const record = L.record({
    name: node.name,
    op: node.opType,
    kind: 'matmul',
    operands,
    output: L.bind(out, [b, o, ...ys]),
    flops: 2 * numel(outShape(L, node)) * numel(ws.slice(1)),
  });
  if (groups > 1) {
    L.link(record, c!, o);
    if (oPerGroup !== null) L.link(record, o, oPerGroup);
  }
  for (const v of unsplittable) record.reduced.add(v);
  for (const [v, width] of halo) record.halo.set(v, width);
}

export function lowerPool(L: Lowering, node: OnnxNode): void {
  const x = node.inputs[0]!;
  const out = node.outputs[0]!;
  const shape = L.info(node, x).shape;
  const global = node.opType === 'GlobalAveragePool';
  const kernel = global ? shape.slice(2) : (attrInts(node, 'kernel_shape') ?? []);
  const lead = shape.slice(0, 2).map((s) => (s === 1 ? null : L.fresh(s)));
  if (global) {
    // The mean over every position: a contraction, so a split spatial axis leaves partial sums.
    const spatial = shape.slice(2).map((s) => (s === 1 ? null : L.fresh(s)));
    L.record({
      name: node.name,
      op: node.opType,
      kind: 'other',
      operands: [L.bind(x, [...lead, ...spatial])],
      output: L.bind(out, [...lead, ...shape.slice(2).map(() => null)]),
      flops: numel(shape),
    });
    return;
  }
  const { xs, ys, unsplittable, halo } = spatialVars(L, node, kernel);
  const record = L.record({
    name: node.name,
    op: node.opType,
    kind: 'other',
    operands: [L.bind(x, [...lead, ...xs])],
    output: L.bind(out, [...lead, ...ys]),
    flops: numel(outShape(L, node)) * numel(kernel),
  });
  for (const v of unsplittable) record.reduced.add(v);
  for (const [v, width] of halo) record.halo.set(v, width);
}

/** Ops normalising over some axes of their input: the output has the input's dims. */
export function lowerNormalising(L: Lowering, node: OnnxNode): void {
  const x = node.inputs[0]!;
  const out = node.outputs[0]!;
  const shape = L.info(node, x).shape;
  const vars = L.freshFor(out);
  let reducedAxes: number[];
  let kind: OpKind = 'norm';
  let operandIndices = [0];
  if (node.opType === 'LayerNormalization') {
    const axis = normAxis(attrInt(node, 'axis', -1), shape.length);
    reducedAxes = shape.map((_, i) => i).filter((i) => i >= axis);
    operandIndices = [0, 1, 2];
  } else if (node.opType === 'BatchNormalization') {
    // Scale and shift are trained; the running mean and variance (inputs 3, 4) are statistics.
    reducedAxes = [];
    operandIndices = [0, 1, 2];
  } else {
    kind = 'softmax';
    reducedAxes = [normAxis(attrInt(node, 'axis', -1), shape.length)];
  }
  const record = L.record({
    name: node.name,
    op: node.opType,
    kind,
    operands: live(L, node, operandIndices).map((t) => L.bind(t, L.broadcastVars(t, vars))),
    output: L.bind(out, vars),
    flops: numel(shape),
  });
  for (const a of reducedAxes) {
    const v = vars[a];
    if (v === null || v === undefined) continue;
    record.reduced.add(v);
    if (kind === 'norm') L.hints.push({ v, role: 'hidden' });
  }
}

/** ReduceMean/Sum/Max: reduced axes appear in the input only, a contraction (partial sums when split). */
export function lowerReduce(L: Lowering, node: OnnxNode): void {
  const x = node.inputs[0]!;
  const shape = L.info(node, x).shape;
  const axes =
    attrInts(node, 'axes') ?? L.tensors.get(node.inputs[1] ?? '')?.values ?? shape.map((_, i) => i);
  const reduced = new Set(axes.map((a) => normAxis(a, shape.length)));
  const inVars = L.freshFor(x);
  const keep = attrInt(node, 'keepdims', 1) === 1;
  const outVars = inVars.flatMap((v, i) => (reduced.has(i) ? (keep ? [null] : []) : [v]));
  L.record({
    name: node.name,
    op: node.opType,
    kind: 'elementwise',
    operands: [L.bind(x, inVars)],
    output: L.bind(node.outputs[0]!, outVars),
    flops: numel(shape),
  });
}

/**
 * Softmax cross-entropy against integer labels: a loss over every logit (max, exp, sum: Megatron's
 * fused kernel). Its class dim is contracted, so split logits leave partial sums, which is what
 * vocab-parallel cross-entropy all-reduces.
 */
export function lowerCrossEntropy(L: Lowering, node: OnnxNode): void {
  const [scores, labels] = [node.inputs[0]!, node.inputs[1]!];
  const vars = L.freshFor(scores);
  const labelVars = vars.filter((_, i) => i !== 1);
  const none = node.attributes.get('reduction') === 'none';
  const classes = vars[1];
  if (classes !== null && classes !== undefined) L.hints.push({ v: classes, role: 'vocab' });
  L.record({
    name: node.name,
    op: node.opType,
    kind: 'loss',
    operands: [L.bind(scores, vars), L.bind(labels, labelVars)],
    output: L.bind(node.outputs[0]!, none ? labelVars : []),
    flops: CROSS_ENTROPY_FLOPS_PER_LOGIT * numel(L.info(node, scores).shape),
  });
}
