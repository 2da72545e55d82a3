import { live } from './lower-math.ts';
import type { Lowering, OpRecord } from './lowering.ts';
import type { OnnxNode } from './onnx-file.ts';
import { sliceSpec } from './shape-rules.ts';
import { attrInt, attrInts, nodeError, normAxis, numel } from './tensor-info.ts';

/** Layout ops that move no data in the graph: their consumers read the parent with dims relabelled. */
export function lowerView(L: Lowering, node: OnnxNode): void {
  const [input, output] = [node.inputs[0]!, node.outputs[0]!];
  if (node.opType === 'Transpose') {
    const rank = L.info(node, input).shape.length;
    const perm = attrInts(node, 'perm') ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
    L.view(output, input, { kind: 'perm', perm });
  } else if (node.opType === 'Expand') {
    L.view(output, input, { kind: 'expand' });
  } else {
    L.view(output, input, { kind: 'flat' });
  }
}

/** Dropout as exported for training (a mask kernel); exported for inference it is the identity. */
export function lowerDropout(L: Lowering, node: OnnxNode): void {
  const training = L.tensors.get(node.inputs[2] ?? '')?.values?.[0] ?? 0;
  if (!training) {
    lowerView(L, node);
    return;
  }
  const vars = L.freshFor(node.outputs[0]!);
  L.record({
    name: node.name,
    op: node.opType,
    kind: 'dropout',
    operands: [L.bind(node.inputs[0]!, vars)],
    output: L.bind(node.outputs[0]!, vars),
    flops: numel(L.info(node, node.inputs[0]!).shape),
  });
}

/**
 * One output taking `indices` (consecutive, step 1, or any) of an input axis. The whole axis: the
 * same variable. An aligned chunk (RoPE's halves, one of a fused projection's equal parts): the
 * input axis factored as (part, position in part), the part selected. Anything else: an input
 * variable that cannot be split (the op is a gather of it) and an output variable of its own.
 */
function sliceAxis(
  L: Lowering,
  record: { links: [number, number][]; reduced: number[] },
  size: number,
  indices: readonly number[],
): { readonly input: number | null; readonly output: number | null } {
  const len = indices.length;
  const step = len > 1 ? indices[1]! - indices[0]! : 1;
  if (len === size) {
    const v = size === 1 ? null : L.fresh(size);
    return { input: v, output: v };
  }
  const output = len === 1 ? null : L.fresh(len);
  const input = L.fresh(size);
  if (step === 1 && size % len === 0 && indices[0]! % len === 0 && output !== null) {
    const part = L.fresh(size / len);
    L.factors.group([input], [part, output], `slice of ${size} into parts of ${len}`);
    record.links.push([input, part], [input, output]);
    record.reduced.push(part);
  } else record.reduced.push(input);
  return { input, output };
}

function recordSlices(
  L: Lowering,
  node: OnnxNode,
  name: string,
  output: string,
  axes: readonly { readonly axis: number; readonly indices: readonly number[] }[],
): void {
  const input = node.inputs[0]!;
  const shape = L.info(node, input).shape;
  const inVars = L.freshFor(input);
  const outVars = [...inVars];
  const extra = { links: [] as [number, number][], reduced: [] as number[] };
  for (const { axis, indices } of axes) {
    const { input: iv, output: ov } = sliceAxis(L, extra, shape[axis]!, indices);
    inVars[axis] = iv;
    outVars[axis] = ov;
  }
  const record = L.record({
    name,
    op: node.opType,
    kind: 'reshape',
    operands: [L.bind(input, inVars)],
    output: L.bind(output, outVars),
    flops: numel(L.info(node, output).shape),
  });
  finish(L, record, extra);
}

function finish(
  L: Lowering,
  record: OpRecord,
  extra: { links: [number, number][]; reduced: number[] },
): void {
  for (const [a, b] of extra.links) L.link(record, a, b);
  for (const v of extra.reduced) record.reduced.add(v);
}

export function lowerSlice(L: Lowering, node: OnnxNode): void {
  recordSlices(
    L,
    node,
    node.name,
    node.outputs[0]!,
    sliceSpec(
      node,
      node.inputs.map((t) => L.tensors.get(t)),
    ),
  );
}

/** Split: one graph op per output (an einsum writes one tensor), each a slice of the input. */
export function lowerSplit(L: Lowering, node: OnnxNode): void {
  const shape = L.info(node, node.inputs[0]!).shape;
  const axis = normAxis(attrInt(node, 'axis', 0), shape.length);
  let start = 0;
  node.outputs.forEach((output, i) => {
    const len = L.info(node, output).shape[axis]!;
    const indices = Array.from({ length: len }, (_, j) => start + j);
    start += len;
    recordSlices(L, node, node.outputs.length > 1 ? `${node.name}#${i}` : node.name, output, [
      { axis, indices },
    ]);
  });
}

/** Concat along an axis: equal parts stack as (part, position); unequal ones are gathered whole. */
export function lowerConcat(L: Lowering, node: OnnxNode): void {
  const output = node.outputs[0]!;
  const shape = L.info(node, output).shape;
  const axis = normAxis(attrInt(node, 'axis', 0), shape.length);
  const inputs = live(L, node);
  const outVars = L.freshFor(output);
  const sizes = node.inputs.map((t) => L.info(node, t).shape[axis]!);
  const extra = { links: [] as [number, number][], reduced: [] as number[] };
  const equal = inputs.length === node.inputs.length && sizes.every((s) => s === sizes[0]) && sizes[0]! > 1;
  let shared: number | null = null;
  if (equal) {
    shared = L.fresh(sizes[0]!);
    const part = L.fresh(sizes.length);
    L.factors.group([outVars[axis]!], [part, shared], `concat of ${node.name}`);
    extra.links.push([outVars[axis]!, part], [outVars[axis]!, shared]);
  }
  const operands = inputs.map((t) => {
    const vars = [...outVars];
    const size = L.info(node, t).shape[axis]!;
    vars[axis] = equal ? shared : size === 1 ? null : L.fresh(size);
    if (!equal && vars[axis] !== null) extra.reduced.push(vars[axis]!);
    return L.bind(t, vars);
  });
  const record = L.record({
    name: node.name,
    op: node.opType,
    kind: 'reshape',
    operands,
    output: L.bind(output, outVars),
    flops: numel(shape),
  });
  finish(L, record, extra);
}

/**
 * Gather: a lookup of integer ids in a weight table is an embedding (its row dim contracted, so a
 * table split by rows leaves partial sums: Megatron's vocab-parallel embedding); constant indices
 * into data or a weight pick rows (a class token, learned positions).
 */
export function lowerGather(L: Lowering, node: OnnxNode): void {
  const [table, ids] = [node.inputs[0]!, node.inputs[1]!];
  const output = node.outputs[0]!;
  const tableShape = L.info(node, table).shape;
  const idShape = L.info(node, ids).shape;
  const axis = normAxis(attrInt(node, 'axis', 0), tableShape.length);
  const outVars = L.freshFor(output);
  const idVars = outVars.slice(axis, axis + idShape.length);
  const rows = L.fresh(tableShape[axis]!);
  const tableVars = [...outVars.slice(0, axis), rows, ...outVars.slice(axis + idShape.length)];
  const weightTable = L.tensors.get(table)?.origin === 'weight';
  const operands = [L.bind(table, tableVars)];
  if (!L.isConst(ids)) operands.push(L.bind(ids, idVars));
  else if (!weightTable && idShape.length > 0 && numel(idShape) > 1) {
    throw nodeError(node, 'a gather of several constant rows from data is not supported');
  }
  const record = L.record({
    name: node.name,
    op: node.opType,
    kind: weightTable ? 'embedding' : 'reshape',
    operands,
    output: L.bind(output, outVars),
    flops: numel(L.info(node, output).shape),
  });
  // Token ids index a vocabulary; constant indices (learned positions) index something else.
  if (weightTable && !L.isConst(ids)) L.hints.push({ v: rows, role: 'vocab' });
  if (!weightTable) record.reduced.add(rows);
}

export function lowerPad(L: Lowering, node: OnnxNode): void {
  const input = node.inputs[0]!;
  const shape = L.info(node, input).shape;
  const out = L.info(node, node.outputs[0]!).shape;
  const inVars = L.freshFor(input);
  const outVars = shape.map((size, i) =>
    size === out[i] ? inVars[i]! : out[i] === 1 ? null : L.fresh(out[i]!),
  );
  const record = L.record({
    name: node.name,
    op: node.opType,
    kind: 'reshape',
    operands: [L.bind(input, inVars)],
    output: L.bind(node.outputs[0]!, outVars),
    flops: numel(out),
  });
  shape.forEach((size, i) => {
    if (size !== out[i] && inVars[i] !== null) record.reduced.add(inVars[i]!);
  });
}
