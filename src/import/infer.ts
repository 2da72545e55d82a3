import type { OnnxNode } from './onnx-file.ts';
import {
  constant,
  matmulShape,
  need,
  reduceShape,
  reshapeTarget,
  sliceSpec,
  windowShape,
} from './shape-rules.ts';
import {
  attrInt,
  attrInts,
  broadcast,
  broadcastValues,
  ELEM,
  nodeError,
  normAxis,
  numel,
  sliceValues,
  type TensorInfo,
  tensorAttr,
} from './tensor-info.ts';

/** An inferred output: its shape, element type and, for small constants, its elements. */
export interface Inferred {
  readonly shape: readonly number[];
  readonly elemType: number;
  readonly values?: readonly number[] | null;
}

type Rule = (node: OnnxNode, inputs: readonly (TensorInfo | undefined)[]) => Inferred[];

const same: Rule = (node, inputs) => {
  const x = need(node, inputs, 0);
  return [{ shape: x.shape, elemType: x.elemType, values: x.values }];
};

function elementwise(f: ((xs: readonly number[]) => number) | null, elemType?: number): Rule {
  return (node, inputs) => {
    const present = inputs.filter((t): t is TensorInfo => t !== undefined);
    let shape: readonly number[] = [];
    for (const t of present) {
      const b = broadcast(shape, t.shape);
      if (b === null)
        throw nodeError(
          node,
          `operand shapes ${present.map((p) => `[${p.shape}]`).join(', ')} do not broadcast`,
        );
      shape = b;
    }
    // Where's output type is its branches', not its condition's.
    const typed = node.opType === 'Where' ? present[1]! : present[0]!;
    return [
      {
        shape,
        elemType: elemType ?? typed.elemType,
        values: f === null ? null : broadcastValues(present, shape, f),
      },
    ];
  };
}

const arithmetic = (f: (a: number, b: number) => number) => elementwise((xs) => f(xs[0]!, xs[1]!));

const reduce: Rule = (node, inputs) => {
  const x = need(node, inputs, 0);
  // Until opset 18 ReduceMean/Max take axes as an attribute; ReduceSum takes them as input 1 from 13.
  const axes = attrInts(node, 'axes') ?? (inputs[1] ? constant(node, inputs, 1, 'axes') : null);
  const all = axes === null || axes.length === 0;
  const shape = reduceShape(
    x.shape,
    all ? x.shape.map((_, i) => i) : axes,
    attrInt(node, 'keepdims', 1) === 1,
  );
  return [{ shape, elemType: x.elemType }];
};

const pool: Rule = (node, inputs) => {
  const x = need(node, inputs, 0).shape;
  const kernel = attrInts(node, 'kernel_shape') ?? [];
  return [
    {
      shape: [x[0]!, x[1]!, ...windowShape(node, x.slice(2), kernel)],
      elemType: need(node, inputs, 0).elemType,
    },
  ];
};

function splitSizes(node: OnnxNode, inputs: readonly (TensorInfo | undefined)[]): number[] {
  const x = need(node, inputs, 0);
  const axis = normAxis(attrInt(node, 'axis', 0), x.shape.length);
  if (inputs[1]) return [...constant(node, inputs, 1, 'split sizes')];
  const parts = node.outputs.length;
  return new Array(parts).fill(Math.ceil(x.shape[axis]! / parts));
}

const RULES: Readonly<Record<string, Rule>> = {
  Identity: same,
  Dropout: (node, inputs) => [same(node, inputs)[0]!, { ...same(node, inputs)[0]!, elemType: ELEM.bool }],
  Cast: (node, inputs) => [{ ...same(node, inputs)[0]!, elemType: attrInt(node, 'to', 1) }],
  Shape: (node, inputs) => {
    const x = need(node, inputs, 0);
    return [{ shape: [x.shape.length], elemType: ELEM.int64, values: x.shape }];
  },
  Constant: (node) => {
    const t = tensorAttr(node, 'value');
    if (t !== null) return [{ shape: t.dims, elemType: t.dataType, values: t.values }];
    const v = node.attributes.get('value_int') ?? node.attributes.get('value_float');
    if (typeof v === 'number') return [{ shape: [], elemType: ELEM.int64, values: [v] }];
    const vs = node.attributes.get('value_ints') ?? node.attributes.get('value_floats');
    if (Array.isArray(vs)) return [{ shape: [vs.length], elemType: ELEM.int64, values: vs as number[] }];
    throw nodeError(node, 'has no value the importer can read');
  },
  ConstantOfShape: (node, inputs) => {
    const shape = constant(node, inputs, 0, 'shape');
    const value = tensorAttr(node, 'value');
    const fill = value?.values?.[0] ?? 0;
    const elemType = value?.dataType ?? 1;
    return [{ shape, elemType, values: numel(shape) <= 4096 ? new Array(numel(shape)).fill(fill) : null }];
  },
  Range: (node, inputs) => {
    const [start, limit, delta] = [0, 1, 2].map((i) => constant(node, inputs, i, 'bounds')[0]!);
    const n = Math.max(Math.ceil((limit! - start!) / delta!), 0);
    return [
      {
        shape: [n],
        elemType: need(node, inputs, 0).elemType,
        values: n <= 4096 ? Array.from({ length: n }, (_, i) => start! + i * delta!) : null,
      },
    ];
  },
  Unsqueeze: (node, inputs) => {
    const x = need(node, inputs, 0);
    const axes = constant(node, inputs, 1, 'axes').map((a) => normAxis(a, x.shape.length + 1));
    const shape = [...x.shape];
    for (const a of [...axes].sort((p, q) => p - q)) shape.splice(a, 0, 1);
    return [{ shape, elemType: x.elemType, values: x.values }];
  },
  Squeeze: (node, inputs) => {
    const x = need(node, inputs, 0);
    const axes = inputs[1]
      ? new Set(constant(node, inputs, 1, 'axes').map((a) => normAxis(a, x.shape.length)))
      : new Set(x.shape.flatMap((d, i) => (d === 1 ? [i] : [])));
    return [{ shape: x.shape.filter((_, i) => !axes.has(i)), elemType: x.elemType, values: x.values }];
  },
  Reshape: (node, inputs) => {
    const x = need(node, inputs, 0);
    return [
      {
        shape: reshapeTarget(node, x.shape, constant(node, inputs, 1, 'target shape')),
        elemType: x.elemType,
        values: x.values,
      },
    ];
  },
  Flatten: (node, inputs) => {
    const x = need(node, inputs, 0);
    const axis = normAxis(attrInt(node, 'axis', 1), x.shape.length);
    return [
      {
        shape: [numel(x.shape.slice(0, axis)), numel(x.shape.slice(axis))],
        elemType: x.elemType,
        values: x.values,
      },
    ];
  },
  Transpose: (node, inputs) => {
    const x = need(node, inputs, 0);
    const perm = attrInts(node, 'perm') ?? x.shape.map((_, i) => x.shape.length - 1 - i);
    return [
      {
        shape: perm.map((p) => x.shape[p]!),
        elemType: x.elemType,
        values: x.values && x.shape.length <= 1 ? x.values : null,
      },
    ];
  },
  Expand: (node, inputs) => {
    const x = need(node, inputs, 0);
    const shape = broadcast(x.shape, constant(node, inputs, 1, 'shape'));
    if (shape === null) throw nodeError(node, `cannot expand [${x.shape}]`);
    return [{ shape, elemType: x.elemType, values: broadcastValues([x], shape, (v) => v[0]!) }];
  },
  Concat: (node, inputs) => {
    const xs = inputs.filter((t): t is TensorInfo => t !== undefined);
    const axis = normAxis(attrInt(node, 'axis', 0), xs[0]!.shape.length);
    const shape = [...xs[0]!.shape];
    shape[axis] = xs.reduce((s, t) => s + t.shape[axis]!, 0);
    const flat = xs[0]!.shape.length === 1 && xs.every((t) => t.values !== null);
    return [{ shape, elemType: xs[0]!.elemType, values: flat ? xs.flatMap((t) => t.values!) : null }];
  },
  Gather: (node, inputs) => {
    const x = need(node, inputs, 0);
    const idx = need(node, inputs, 1);
    const axis = normAxis(attrInt(node, 'axis', 0), x.shape.length);
    const shape = [...x.shape.slice(0, axis), ...idx.shape, ...x.shape.slice(axis + 1)];
    const values =
      idx.values !== null && x.shape.length === 1 && x.values !== null
        ? idx.values.map((i) => x.values![i < 0 ? i + x.shape[0]! : i]!)
        : null;
    return [{ shape, elemType: x.elemType, values }];
  },
  Slice: (node, inputs) => {
    const x = need(node, inputs, 0);
    const spec = sliceSpec(node, inputs);
    const shape = [...x.shape];
    for (const s of spec) shape[s.axis] = s.indices.length;
    const values = spec.length === 1 ? sliceValues(x, spec[0]!.axis, spec[0]!.indices, shape) : null;
    return [{ shape, elemType: x.elemType, values }];
  },
  Split: (node, inputs) => {
    const x = need(node, inputs, 0);
    const axis = normAxis(attrInt(node, 'axis', 0), x.shape.length);
    return splitSizes(node, inputs).map((size) => {
      const shape = [...x.shape];
      shape[axis] = size;
      return { shape, elemType: x.elemType };
    });
  },
  Pad: (node, inputs) => {
    const x = need(node, inputs, 0);
    const pads = constant(node, inputs, 1, 'pads');
    const n = x.shape.length;
    return [{ shape: x.shape.map((d, i) => d + pads[i]! + pads[i + n]!), elemType: x.elemType }];
  },
  Trilu: same,
  Softmax: same,
  LogSoftmax: same,
  LayerNormalization: same,
  BatchNormalization: (node, inputs) => [same(node, inputs)[0]!],
  MatMul: (node, inputs) => {
    const a = need(node, inputs, 0);
    return [{ shape: matmulShape(node, a.shape, need(node, inputs, 1).shape), elemType: a.elemType }];
  },
  Gemm: (node, inputs) => {
    const a = need(node, inputs, 0).shape;
    const b = need(node, inputs, 1).shape;
    const m = attrInt(node, 'transA', 0) ? a[1]! : a[0]!;
    const n = attrInt(node, 'transB', 0) ? b[0]! : b[1]!;
    return [{ shape: [m, n], elemType: need(node, inputs, 0).elemType }];
  },
  Conv: (node, inputs) => {
    const x = need(node, inputs, 0).shape;
    const w = need(node, inputs, 1).shape;
    return [
      {
        shape: [x[0]!, w[0]!, ...windowShape(node, x.slice(2), w.slice(2))],
        elemType: need(node, inputs, 0).elemType,
      },
    ];
  },
  MaxPool: pool,
  AveragePool: pool,
  GlobalAveragePool: (node, inputs) => {
    const x = need(node, inputs, 0).shape;
    return [{ shape: x.map((d, i) => (i < 2 ? d : 1)), elemType: need(node, inputs, 0).elemType }];
  },
  ReduceMean: reduce,
  ReduceSum: reduce,
  ReduceMax: reduce,
  SoftmaxCrossEntropyLoss: (node, inputs) => {
    const x = need(node, inputs, 0);
    const none = node.attributes.get('reduction') === 'none';
    return [{ shape: none ? [x.shape[0]!, ...x.shape.slice(2)] : [], elemType: x.elemType }];
  },
  Add: arithmetic((a, b) => a + b),
  Sub: arithmetic((a, b) => a - b),
  Mul: arithmetic((a, b) => a * b),
  Div: arithmetic((a, b) => (Number.isInteger(a) && Number.isInteger(b) ? Math.trunc(a / b) : a / b)),
  Pow: arithmetic((a, b) => a ** b),
  Max: arithmetic(Math.max),
  Min: arithmetic(Math.min),
  Equal: elementwise((xs) => Number(xs[0] === xs[1]), ELEM.bool),
  Less: elementwise((xs) => Number(xs[0]! < xs[1]!), ELEM.bool),
  Greater: elementwise((xs) => Number(xs[0]! > xs[1]!), ELEM.bool),
  And: elementwise((xs) => Number(xs[0] && xs[1]), ELEM.bool),
  Or: elementwise((xs) => Number(xs[0] || xs[1]), ELEM.bool),
  Not: elementwise((xs) => Number(!xs[0]), ELEM.bool),
  Where: elementwise((xs) => (xs[0] ? xs[1]! : xs[2]!)),
  Neg: elementwise((xs) => -xs[0]!),
  Sqrt: elementwise((xs) => Math.sqrt(xs[0]!)),
  Reciprocal: elementwise((xs) => 1 / xs[0]!),
  Floor: elementwise((xs) => Math.floor(xs[0]!)),
  Ceil: elementwise((xs) => Math.ceil(xs[0]!)),
  Abs: elementwise((xs) => Math.abs(xs[0]!)),
  Exp: elementwise(null),
  Log: elementwise(null),
  Erf: elementwise(null),
  Tanh: elementwise(null),
  Sigmoid: elementwise(null),
  Relu: elementwise(null),
  LeakyRelu: elementwise(null),
  Gelu: elementwise(null),
  Softplus: elementwise(null),
  HardSigmoid: elementwise(null),
  Cos: elementwise(null),
  Sin: elementwise(null),
  Clip: elementwise(null),
};

/** Output shapes (and small constants' elements) of one node; an op without a rule is unmapped. */
export function inferNode(node: OnnxNode, inputs: readonly (TensorInfo | undefined)[]): Inferred[] {
  const rule = RULES[node.opType];
  if (rule === undefined || (node.domain !== '' && node.domain !== 'ai.onnx'))
    throw nodeError(
      node,
      `operator ${node.domain ? `${node.domain}.` : ''}${node.opType} is not supported by the importer`,
    );
  return rule(node, inputs);
}
