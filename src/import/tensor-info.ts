import { InvalidInputError } from '../schema/errors.ts';
import type { OnnxAttribute, OnnxNode, OnnxTensor } from './onnx-file.ts';

/**
 * What a tensor depends on: nothing that varies (`const`: shapes, masks, scalars, folded away),
 * trained weights only (`weight`), or the data fed per step (`data`: the batch).
 */
export type Origin = 'const' | 'weight' | 'data';

export interface TensorInfo {
  readonly shape: readonly number[];
  /** TensorProto.DataType. */
  readonly elemType: number;
  readonly origin: Origin;
  /** The elements of a small constant (shape arithmetic), when known. */
  readonly values: readonly number[] | null;
}

/** TensorProto.DataType codes of floating-point tensors (what training precision applies to). */
export const FLOAT_TYPES: ReadonlySet<number> = new Set([1, 10, 11, 16]);
export const ELEM = { float: 1, int32: 6, int64: 7, bool: 9 } as const;

export function numel(shape: readonly number[]): number {
  return shape.reduce((p, d) => p * d, 1);
}

export function nodeError(node: OnnxNode, message: string): InvalidInputError {
  return new InvalidInputError(
    [{ path: `model.nodes.${node.name}`, message: `${node.opType} node "${node.name}": ${message}` }],
    'ONNX model',
  );
}

export function attrInt(node: OnnxNode, name: string, fallback: number): number {
  const a = node.attributes.get(name);
  return typeof a === 'number' ? a : fallback;
}

export function attrInts(node: OnnxNode, name: string): readonly number[] | null {
  const a: OnnxAttribute | undefined = node.attributes.get(name);
  if (Array.isArray(a)) return a as readonly number[];
  return typeof a === 'number' ? [a] : null;
}

export function tensorAttr(node: OnnxNode, name: string): OnnxTensor | null {
  const a = node.attributes.get(name);
  return typeof a === 'object' && !Array.isArray(a) ? (a as OnnxTensor) : null;
}

/** A negative axis counts from the end (ONNX's convention). */
export function normAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** NumPy broadcasting of two shapes; null when they do not broadcast. */
export function broadcast(a: readonly number[], b: readonly number[]): number[] | null {
  const rank = Math.max(a.length, b.length);
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    const x = a[a.length - rank + i] ?? 1;
    const y = b[b.length - rank + i] ?? 1;
    if (x !== y && x !== 1 && y !== 1) return null;
    out.push(x === 1 ? y : x);
  }
  return out;
}

/** Strides of a row-major shape. */
function strides(shape: readonly number[]): number[] {
  const out = new Array<number>(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) out[i] = out[i + 1]! * shape[i + 1]!;
  return out;
}

/** Elementwise op on broadcast operands' known elements (null when one is unknown or too big). */
export function broadcastValues(
  inputs: readonly TensorInfo[],
  shape: readonly number[],
  f: (xs: readonly number[]) => number,
): number[] | null {
  if (inputs.some((t) => t.values === null) || numel(shape) > 4096) return null;
  const outStrides = strides(shape);
  return Array.from({ length: numel(shape) }, (_, flat) => {
    const index = outStrides.map((s, d) => Math.floor(flat / s) % shape[d]!);
    return f(
      inputs.map((t) => {
        const off = shape.length - t.shape.length;
        const st = strides(t.shape);
        let at = 0;
        t.shape.forEach((size, d) => {
          at += (size === 1 ? 0 : index[d + off]!) * st[d]!;
        });
        return t.values![at]!;
      }),
    );
  });
}

/** Elements `start, start+step, …` before `end` along one axis of a row-major tensor's values. */
export function sliceValues(
  t: TensorInfo,
  axis: number,
  indices: readonly number[],
  shape: readonly number[],
): number[] | null {
  if (t.values === null) return null;
  const st = strides(t.shape);
  const outStrides = strides(shape);
  return Array.from({ length: numel(shape) }, (_, flat) => {
    let at = 0;
    outStrides.forEach((s, d) => {
      const i = Math.floor(flat / s) % shape[d]!;
      at += (d === axis ? indices[i]! : i) * st[d]!;
    });
    return t.values![at]!;
  });
}
