/**
 * Shape arithmetic of the ops whose output shape depends on attributes or constant inputs: windows
 * (convolution, pooling), matrix products, reshapes, slices and reductions.
 */
import type { OnnxNode } from './onnx-file.ts';
import { attrInts, broadcast, nodeError, normAxis, numel, type TensorInfo } from './tensor-info.ts';

/** An input the op cannot do without. */
export function need(node: OnnxNode, inputs: readonly (TensorInfo | undefined)[], i: number): TensorInfo {
  const t = inputs[i];
  if (t === undefined) throw nodeError(node, `input ${i} is missing`);
  return t;
}

/** The elements of a constant input that decides a shape (Reshape's target, Slice's bounds…). */
export function constant(
  node: OnnxNode,
  inputs: readonly (TensorInfo | undefined)[],
  i: number,
  what: string,
): readonly number[] {
  const t = need(node, inputs, i);
  if (t.values === null) throw nodeError(node, `its ${what} is not a constant the importer can evaluate`);
  return t.values;
}

export function reduceShape(shape: readonly number[], axes: readonly number[], keep: boolean): number[] {
  const set = new Set(axes.map((a) => normAxis(a, shape.length)));
  return shape.flatMap((d, i) => (set.has(i) ? (keep ? [1] : []) : [d]));
}

/** Output extent of a sliding window (convolution, pooling) along one spatial axis. */
function windowExtent(size: number, kernel: number, stride: number, padSum: number, dilation = 1): number {
  return Math.floor((size + padSum - dilation * (kernel - 1) - 1) / stride) + 1;
}

/** Spatial output sizes of Conv / MaxPool / AveragePool from their attributes. */
export function windowShape(node: OnnxNode, spatial: readonly number[], kernel: readonly number[]): number[] {
  const n = spatial.length;
  const strides = attrInts(node, 'strides') ?? new Array(n).fill(1);
  const pads = attrInts(node, 'pads') ?? new Array(2 * n).fill(0);
  const dilations = attrInts(node, 'dilations') ?? new Array(n).fill(1);
  const autoPad = node.attributes.get('auto_pad');
  return spatial.map((size, i) => {
    if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') return Math.ceil(size / strides[i]!);
    return windowExtent(size, kernel[i]!, strides[i]!, pads[i]! + pads[i + n]!, dilations[i]!);
  });
}

export function matmulShape(node: OnnxNode, a: readonly number[], b: readonly number[]): number[] {
  const a2 = a.length === 1 ? [1, a[0]!] : a;
  const b2 = b.length === 1 ? [b[0]!, 1] : b;
  if (a2.at(-1) !== b2.at(-2)) throw nodeError(node, `inner dims differ: [${a}] @ [${b}]`);
  const batch = broadcast(a2.slice(0, -2), b2.slice(0, -2));
  if (batch === null) throw nodeError(node, `batch dims do not broadcast: [${a}] @ [${b}]`);
  return [...batch, ...(a.length === 1 ? [] : [a2.at(-2)!]), ...(b.length === 1 ? [] : [b2.at(-1)!])];
}

/** Reshape's target: 0 copies the input dim (allowzero = 0), -1 takes what is left. */
export function reshapeTarget(node: OnnxNode, input: readonly number[], target: readonly number[]): number[] {
  const out = target.map((d, i) => (d === 0 ? input[i]! : d));
  const known = out.filter((d) => d !== -1).reduce((p, d) => p * d, 1);
  const filled = out.map((d) => (d === -1 ? numel(input) / known : d));
  if (numel(filled) !== numel(input) || filled.some((d) => !Number.isInteger(d)))
    throw nodeError(node, `cannot reshape [${input}] to [${target}]`);
  return filled;
}

/** Slice's per-axis (start, end, step), clamped as ONNX does, for the axes it names. */
export function sliceSpec(node: OnnxNode, inputs: readonly (TensorInfo | undefined)[]) {
  const x = need(node, inputs, 0);
  const starts = constant(node, inputs, 1, 'starts');
  const ends = constant(node, inputs, 2, 'ends');
  const axes = inputs[3] ? constant(node, inputs, 3, 'axes') : starts.map((_, i) => i);
  const steps = inputs[4] ? constant(node, inputs, 4, 'steps') : starts.map(() => 1);
  return axes.map((a, i) => {
    const axis = normAxis(a, x.shape.length);
    const size = x.shape[axis]!;
    const step = steps[i]!;
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + size : v, lo), hi);
    const start = step > 0 ? clamp(starts[i]!, 0, size) : clamp(starts[i]!, -1, size - 1);
    const end = step > 0 ? clamp(ends[i]!, 0, size) : clamp(ends[i]!, -1, size - 1);
    const indices: number[] = [];
    for (let j = start; step > 0 ? j < end : j > end; j += step) indices.push(j);
    return { axis, indices };
  });
}
