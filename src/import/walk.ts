import { type InputIssue, InvalidInputError } from '../schema/errors.ts';
import { inferNode } from './infer.ts';
import {
  lowerConcat,
  lowerDropout,
  lowerGather,
  lowerPad,
  lowerSlice,
  lowerSplit,
  lowerView,
} from './lower-layout.ts';
import {
  lowerConv,
  lowerCrossEntropy,
  lowerEinsum,
  lowerElementwise,
  lowerGemm,
  lowerMatMul,
  lowerNormalising,
  lowerPool,
  lowerReduce,
} from './lower-math.ts';
import { Lowering } from './lowering.ts';
import type { OnnxModel, OnnxNode } from './onnx-file.ts';
import { FLOAT_TYPES, nodeError, type Origin, type TensorInfo } from './tensor-info.ts';

export interface Binding {
  /** The symbolic dim that counts samples; default: the first dim of the first graph input. */
  readonly batchDim?: string;
  /** Sizes of the other symbolic dims. */
  readonly dims?: Readonly<Record<string, number>>;
  /** Samples per microbatch: the size `batchDim` is bound to. */
  readonly batch: number;
}

/** Where a symbolic dim sits: the roles (batch, sequence) its factors play in the graph. */
export interface SymbolicDim {
  readonly tensor: string;
  readonly axis: number;
  readonly name: string;
}

export interface Walked {
  readonly lowering: Lowering;
  readonly symbols: readonly SymbolicDim[];
  readonly batchDim: string;
}

type Lower = (L: Lowering, node: OnnxNode) => void;

const ELEMENTWISE = [
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Pow',
  'Max',
  'Min',
  'Equal',
  'Less',
  'Greater',
  'And',
  'Or',
  'Not',
  'Where',
  'Neg',
  'Sqrt',
  'Reciprocal',
  'Floor',
  'Ceil',
  'Abs',
  'Exp',
  'Log',
  'Erf',
  'Tanh',
  'Sigmoid',
  'Relu',
  'LeakyRelu',
  'Gelu',
  'Softplus',
  'HardSigmoid',
  'Cos',
  'Sin',
  'Clip',
  'Trilu',
];
const VIEWS = ['Identity', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze', 'Cast', 'Transpose', 'Expand'];

const LOWER: Readonly<Record<string, Lower>> = {
  ...Object.fromEntries(ELEMENTWISE.map((op) => [op, (L: Lowering, n: OnnxNode) => lowerElementwise(L, n)])),
  ...Object.fromEntries(VIEWS.map((op) => [op, lowerView])),
  Dropout: lowerDropout,
  MatMul: lowerMatMul,
  Gemm: lowerGemm,
  Einsum: lowerEinsum,
  Conv: lowerConv,
  MaxPool: lowerPool,
  AveragePool: lowerPool,
  GlobalAveragePool: lowerPool,
  LayerNormalization: lowerNormalising,
  BatchNormalization: lowerNormalising,
  Softmax: lowerNormalising,
  LogSoftmax: lowerNormalising,
  ReduceMean: lowerReduce,
  ReduceSum: lowerReduce,
  ReduceMax: lowerReduce,
  SoftmaxCrossEntropyLoss: lowerCrossEntropy,
  Slice: lowerSlice,
  Split: lowerSplit,
  Concat: lowerConcat,
  Gather: lowerGather,
  Pad: lowerPad,
};

/**
 * Graph inputs with a symbolic dim are data; other inputs and initializers are weights (float) or
 * constants. Symbolic dims are bound here: `batchDim` to the microbatch, the rest from `dims`.
 */
function bindInputs(model: OnnxModel, binding: Binding) {
  const tensors = new Map<string, TensorInfo>();
  const issues: InputIssue[] = [];
  const symbols: SymbolicDim[] = [];
  const unbound = new Map<string, string[]>();
  const initialized = new Set(model.initializers.map((t) => t.name));
  const first = model.inputs.find((i) => !initialized.has(i.name));
  const firstDim = first?.shape?.[0];
  const batchDim = binding.batchDim ?? (typeof firstDim === 'string' ? firstDim : undefined);
  if (batchDim === undefined) {
    const where =
      first === undefined
        ? 'the graph has no input'
        : `input "${first.name}" starts with ${String(firstDim)}`;
    issues.push({
      path: 'model.batchDim',
      message: `no symbolic batch dim to bind (${where}): export with dynamic_axes={"${first?.name ?? 'input'}": {0: "batch"}} or name batchDim`,
    });
  }
  for (const t of model.initializers) {
    const scalar = t.dims.reduce((p, d) => p * d, 1) <= 1;
    const origin: Origin = FLOAT_TYPES.has(t.dataType) && !scalar ? 'weight' : 'const';
    tensors.set(t.name, {
      shape: t.dims,
      elemType: t.dataType,
      origin,
      values: origin === 'const' ? t.values : null,
    });
  }
  for (const input of model.inputs) {
    if (initialized.has(input.name)) continue;
    if (input.shape === null) {
      issues.push({ path: `model.inputs.${input.name}`, message: `input "${input.name}" declares no shape` });
      continue;
    }
    let symbolic = false;
    const shape = input.shape.map((d, axis) => {
      if (typeof d === 'number') return d;
      symbolic = true;
      const name = d ?? `${input.name}[${axis}]`;
      symbols.push({ tensor: input.name, axis, name });
      const size = name === batchDim ? binding.batch : binding.dims?.[name];
      if (size === undefined) {
        unbound.set(name, [...(unbound.get(name) ?? []), input.name]);
        return 1;
      }
      return size;
    });
    const origin: Origin = symbolic || !FLOAT_TYPES.has(input.elemType) ? 'data' : 'weight';
    tensors.set(input.name, { shape, elemType: input.elemType, origin, values: null });
  }
  for (const [name, inputs] of unbound) {
    issues.push({
      path: `model.dims.${name}`,
      message: `symbolic dim "${name}" of input ${inputs.map((i) => `"${i}"`).join(', ')} is not bound: give its size in dims`,
    });
  }
  if (batchDim !== undefined && binding.batchDim !== undefined && !symbols.some((s) => s.name === batchDim)) {
    issues.push({ path: 'model.batchDim', message: `no graph input has a dim named "${batchDim}"` });
  }
  for (const name of Object.keys(binding.dims ?? {})) {
    if (!symbols.some((s) => s.name === name))
      issues.push({ path: `model.dims.${name}`, message: `no graph input has a dim named "${name}"` });
  }
  if (issues.length > 0) throw new InvalidInputError(issues, 'ONNX model');
  return { tensors, symbols, batchDim: batchDim! };
}

const RANK: Readonly<Record<Origin, number>> = { const: 0, weight: 1, data: 2 };

/**
 * Infers every tensor's shape with the symbolic dims bound, folds what is constant (shape
 * arithmetic, masks built from sizes), and lowers every op that reads weights or data.
 */
export function walk(model: OnnxModel, binding: Binding): Walked {
  const { tensors, symbols, batchDim } = bindInputs(model, binding);
  const lowering = new Lowering(tensors);
  for (const node of model.nodes) {
    const inputs = node.inputs.map((name) => (name === '' ? undefined : tensors.get(name)));
    node.inputs.forEach((name, i) => {
      if (name !== '' && inputs[i] === undefined)
        throw nodeError(node, `reads "${name}", which nothing defines`);
    });
    const outputs = inferNode(node, inputs);
    // A shape is known once the symbolic dims are bound: Shape never depends on the data.
    const origin: Origin =
      node.opType === 'Shape'
        ? 'const'
        : inputs.reduce<Origin>(
            (o, t) => (t !== undefined && RANK[t.origin] > RANK[o] ? t.origin : o),
            'const',
          );
    node.outputs.forEach((name, i) => {
      const out = outputs[i];
      if (name === '' || out === undefined) return;
      tensors.set(name, {
        shape: out.shape,
        elemType: out.elemType,
        origin,
        values: origin === 'const' ? (out.values ?? null) : null,
      });
    });
    if (origin === 'const') continue;
    const lower = LOWER[node.opType];
    if (lower === undefined)
      throw nodeError(node, `operator ${node.opType} is not supported on weights or data`);
    lower(lowering, node);
  }
  return { lowering, symbols, batchDim };
}
