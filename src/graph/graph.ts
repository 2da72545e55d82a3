import { type InputIssue, InvalidInputError } from '../schema/errors.ts';
import type { Dtype, Exchange, OpGraphSpec, OpKind } from '../schema/graph.ts';
import { DTYPE_BYTES, keepsInputs, SAVED_FOR_BACKWARD } from '../schema/graph.ts';
import type { RecomputeModule } from '../schema/vocabulary.ts';
import { type Einsum, parseEinsum } from './einsum.ts';

export interface TensorUse {
  readonly op: number;
  readonly input: number;
}

export interface GraphTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: Dtype;
  readonly param: boolean;
  readonly bytes: number;
  readonly numel: number;
  /** Index (in `OpGraph.ops`) of the op that writes it; null for graph inputs and parameters. */
  producer: number | null;
  readonly consumers: TensorUse[];
}

export interface GraphOp {
  /** Position in `OpGraph.ops`, which is a topological order. */
  readonly index: number;
  readonly name: string;
  readonly kind: OpKind;
  readonly einsum: Einsum;
  readonly inputs: readonly string[];
  readonly output: string;
  /** Size of every einsum letter. */
  readonly dimSize: Readonly<Record<string, number>>;
  readonly reducedDims: ReadonlySet<string>;
  readonly selectiveRecompute: boolean;
  /** The Megatron-LM submodules the op belongs to, innermost first (empty: none named). */
  readonly recomputeModules: readonly RecomputeModule[];
  /** Forward FLOPs of the whole (unsharded) op. */
  readonly flops: number;
  /** An attention kernel that skips the masked half of a causal score matrix. */
  readonly causal: boolean;
  /** A causal attention kernel's sliding window: keys per query (null: every earlier key). */
  readonly window: number | null;
  /** The tensor cores' dtype when it differs from the operands' (an FP8 GEMM on bf16 tensors). */
  readonly computeDtype: Dtype | null;
  /** The matmul whose linear module this one shares, by index (OpSpec.fusedWith); null: its own. */
  readonly fusedWith: number | null;
  /** Data it moves among outer-group peers itself (context or expert parallelism). */
  readonly exchange: Exchange | null;
  /**
   * The inputs (by position) its backward keeps: every one for a kind that keeps its inputs
   * (SAVED_FOR_BACKWARD), or the fewer the op names (OpSpec.savedInputs); none for the other kinds.
   */
  readonly keptInputs: ReadonlySet<number>;
  /** A norm run as eager PyTorch's composite of kernels rather than one (OpSpec.composite). */
  readonly composite: boolean;
  /** A routing op's token dims and the slot dim each token lands in (see OpSpec.routes). */
  readonly routes: { readonly tokens: readonly string[]; readonly slots: string } | null;
  /** Sliding-window dims and the rows a device needs from each neighbour when they are split. */
  readonly halo: ReadonlyMap<string, number>;
  /** A scan op's recurrence (OpSpec.scan); null for every other kind. */
  readonly scan: { readonly stateDim: number; readonly groups: number; readonly chunkSize: number } | null;
}

export interface OpGraph {
  readonly name: string;
  readonly tensors: ReadonlyMap<string, GraphTensor>;
  readonly ops: readonly GraphOp[];
}

/**
 * FLOPs an einsum implies: a contraction does a multiply-add per point of its index space; an op
 * without contraction (elementwise, norm) one operation per point. Ops whose cost the einsum does
 * not show (embedding gathers, fused kernels) give `flops` explicitly.
 */
function einsumFlops(einsum: Einsum, dimSize: Record<string, number>): number {
  const points = einsum.letters.reduce((p, l) => p * (dimSize[l] ?? 1), 1);
  return einsum.contracted.length > 0 ? 2 * points : points;
}

/** Validates a parsed graph spec and builds the graph in topological order. */
export function buildGraph(spec: OpGraphSpec): OpGraph {
  const issues: InputIssue[] = [];
  const tensors = new Map<string, GraphTensor>();
  spec.tensors.forEach((t, i) => {
    if (tensors.has(t.name)) {
      issues.push({ path: `tensors[${i}].name`, message: `duplicate tensor name "${t.name}"` });
      return;
    }
    const numel = t.shape.reduce((p, d) => p * d, 1);
    tensors.set(t.name, {
      name: t.name,
      shape: t.shape,
      dtype: t.dtype,
      param: t.param,
      numel,
      bytes: numel * DTYPE_BYTES[t.dtype],
      producer: null,
      consumers: [],
    });
  });

  const opNames = new Set<string>();
  const producerName = new Map<string, number>();
  const parsed: { spec: OpGraphSpec['ops'][number]; einsum: Einsum; dimSize: Record<string, number> }[] = [];
  spec.ops.forEach((op, i) => {
    const at = `ops[${i}]`;
    const before = issues.length;
    if (opNames.has(op.name)) issues.push({ path: `${at}.name`, message: `duplicate op name "${op.name}"` });
    opNames.add(op.name);
    const result = parseEinsum(op.einsum);
    if (!result.ok) {
      issues.push({ path: `${at}.einsum`, message: `op "${op.name}": ${result.message}` });
      return;
    }
    const einsum = result.einsum;
    if (einsum.inputs.length !== op.inputs.length) {
      issues.push({
        path: `${at}.inputs`,
        message: `op "${op.name}": einsum has ${einsum.inputs.length} operands but ${op.inputs.length} inputs are listed`,
      });
      return;
    }
    const dimSize: Record<string, number> = {};
    const bind = (tensorName: string, letters: string, path: string) => {
      const tensor = tensors.get(tensorName);
      if (tensor === undefined) {
        issues.push({ path, message: `op "${op.name}": unknown tensor "${tensorName}"` });
        return;
      }
      if (tensor.shape.length !== letters.length) {
        issues.push({
          path,
          message: `op "${op.name}": tensor "${tensorName}" has rank ${tensor.shape.length} but the einsum gives it "${letters}"`,
        });
        return;
      }
      [...letters].forEach((letter, d) => {
        const size = tensor.shape[d]!;
        const known = dimSize[letter];
        if (known === undefined) dimSize[letter] = size;
        else if (known !== size) {
          issues.push({
            path,
            message: `op "${op.name}": dim "${letter}" is ${known} elsewhere but ${size} in tensor "${tensorName}" (shape mismatch)`,
          });
        }
      });
    };
    for (const [j, t] of op.inputs.entries()) bind(t, einsum.inputs[j]!, `${at}.inputs[${j}]`);
    bind(op.output, einsum.output, `${at}.output`);
    const out = tensors.get(op.output);
    if (out?.param)
      issues.push({ path: `${at}.output`, message: `op "${op.name}": writes parameter "${op.output}"` });
    const earlier = producerName.get(op.output);
    if (earlier !== undefined) {
      issues.push({
        path: `${at}.output`,
        message: `op "${op.name}": tensor "${op.output}" is already written by op "${spec.ops[earlier]!.name}"`,
      });
    }
    producerName.set(op.output, i);
    if (op.inputs.includes(op.output)) {
      issues.push({
        path: `${at}.output`,
        message: `op "${op.name}": reads its own output "${op.output}" (cycle)`,
      });
    }
    for (const [j, l] of (op.reducedDims ?? []).entries()) {
      if (!einsum.letters.includes(l)) {
        issues.push({
          path: `${at}.reducedDims[${j}]`,
          message: `op "${op.name}": "${l}" is not a dim of its einsum`,
        });
      }
    }
    for (const l of Object.keys(op.halo ?? {})) {
      if (!einsum.output.includes(l) || !einsum.inputs.some((letters) => letters.includes(l))) {
        issues.push({
          path: `${at}.halo.${l}`,
          message: `op "${op.name}": a halo dim must be a dim of an input and of the output; "${l}" is not`,
        });
      } else if (op.reducedDims?.includes(l)) {
        issues.push({ path: `${at}.halo.${l}`, message: `op "${op.name}": "${l}" is also a reduced dim` });
      }
    }
    if (op.window !== undefined && (op.kind !== 'attention' || op.causal !== true)) {
      issues.push({
        path: `${at}.window`,
        message: `op "${op.name}": only a causal attention kernel (kind "attention", causal true) has a sliding window`,
      });
    }
    if (op.routes !== undefined) {
      // Tokens are dims the op reads; the slots a dim of an operand or the output that holds no token.
      for (const [j, l] of op.routes.tokens.entries()) {
        if (!einsum.letters.includes(l)) {
          issues.push({
            path: `${at}.routes.tokens[${j}]`,
            message: `op "${op.name}": "${l}" is not a dim of its einsum`,
          });
        }
      }
      if (!einsum.letters.includes(op.routes.slots) || op.routes.tokens.includes(op.routes.slots)) {
        issues.push({
          path: `${at}.routes.slots`,
          message: `op "${op.name}": the slots "${op.routes.slots}" must be a dim of its einsum other than the tokens`,
        });
      }
    }
    if (op.composite === true && op.kind !== 'norm') {
      issues.push({
        path: `${at}.composite`,
        message: `op "${op.name}": only a norm runs as eager PyTorch's composite; this is a ${op.kind}`,
      });
    }
    if ((op.kind === 'scan') !== (op.scan !== undefined)) {
      issues.push({
        path: `${at}.scan`,
        message: `op "${op.name}": a scan op gives its recurrence (scan), and only a scan op does`,
      });
    }
    if (op.savedInputs !== undefined && !keepsInputs(op.kind ?? 'other')) {
      issues.push({
        path: `${at}.savedInputs`,
        message: `op "${op.name}": only a kind that keeps its inputs for backward keeps a subset of them; a ${op.kind} keeps ${SAVED_FOR_BACKWARD[op.kind ?? 'other']}`,
      });
    }
    for (const [j, k] of (op.savedInputs ?? []).entries()) {
      if (k >= op.inputs.length) {
        issues.push({
          path: `${at}.savedInputs[${j}]`,
          message: `op "${op.name}" has ${op.inputs.length} inputs; there is no input ${k}`,
        });
      }
    }
    for (const [j, k] of (op.exchange?.operands ?? []).entries()) {
      if (k >= op.inputs.length) {
        issues.push({
          path: `${at}.exchange.operands[${j}]`,
          message: `op "${op.name}" has ${op.inputs.length} inputs; there is no operand ${k}`,
        });
      }
    }
    if (issues.length === before) parsed.push({ spec: op, einsum, dimSize });
  });
  issues.push(...fusedLinearIssues(spec, tensors));
  if (issues.length > 0) throw new InvalidInputError(issues, 'graph');

  const order = topologicalOrder(
    parsed.map((p) => p.spec),
    producerName,
  );
  const indexOf = new Map(order.map((original, index) => [parsed[original]!.spec.name, index]));
  const ops: GraphOp[] = order.map((original, index) => {
    const { spec: op, einsum, dimSize } = parsed[original]!;
    return {
      index,
      name: op.name,
      kind: op.kind,
      einsum,
      inputs: op.inputs,
      output: op.output,
      dimSize,
      reducedDims: new Set(op.reducedDims ?? []),
      selectiveRecompute: op.selectiveRecompute,
      recomputeModules: op.recomputeModules ?? [],
      flops: op.flops ?? einsumFlops(einsum, dimSize),
      causal: op.causal ?? false,
      window: op.window ?? null,
      computeDtype: op.computeDtype ?? null,
      fusedWith: op.fusedWith === undefined ? null : indexOf.get(op.fusedWith)!,
      exchange: op.exchange ?? null,
      keptInputs: new Set(
        op.savedInputs ?? (keepsInputs(op.kind) ? op.inputs.map((_, position) => position) : []),
      ),
      composite: op.composite ?? false,
      routes: op.routes ?? null,
      halo: new Map(Object.entries(op.halo ?? {})),
      scan: op.scan ?? null,
    };
  });
  for (const op of ops) {
    tensors.get(op.output)!.producer = op.index;
    for (const [input, t] of op.inputs.entries()) tensors.get(t)!.consumers.push({ op: op.index, input });
  }
  return { name: spec.name ?? 'graph', tensors, ops };
}

/**
 * OpSpec.fusedWith names another matmul of the graph that reads one of the same activations: the
 * two are one linear module's GEMMs, whose shared input it quantizes once.
 */
function fusedLinearIssues(spec: OpGraphSpec, tensors: ReadonlyMap<string, { readonly param: boolean }>) {
  const byName = new Map(spec.ops.map((op) => [op.name, op]));
  const issues: InputIssue[] = [];
  spec.ops.forEach((op, i) => {
    if (op.fusedWith === undefined) return;
    const path = `ops[${i}].fusedWith`;
    const leader = byName.get(op.fusedWith);
    if (leader === undefined || leader === op) {
      issues.push({ path, message: `op "${op.name}": "${op.fusedWith}" is not another op of the graph` });
      return;
    }
    if (op.kind !== 'matmul' || leader.kind !== 'matmul') {
      issues.push({ path, message: `op "${op.name}": only matmuls are fused into one linear module` });
      return;
    }
    const shared = op.inputs.some((t) => tensors.get(t)?.param === false && leader.inputs.includes(t));
    if (!shared)
      issues.push({
        path,
        message: `op "${op.name}" reads none of the activations "${op.fusedWith}" reads: a fused module's GEMMs share their input`,
      });
  });
  return issues;
}

/** Kahn's algorithm (FIFO, so a graph listed in order keeps it); a cycle is reported with its ops. */
function topologicalOrder(
  ops: readonly OpGraphSpec['ops'][number][],
  producer: ReadonlyMap<string, number>,
): number[] {
  const indegree = ops.map((op) => op.inputs.filter((t) => producer.has(t)).length);
  const users = ops.map(() => [] as number[]);
  ops.forEach((op, i) => {
    for (const t of op.inputs) {
      const p = producer.get(t);
      if (p !== undefined) users[p]!.push(i);
    }
  });
  const ready = indegree.flatMap((d, i) => (d === 0 ? [i] : []));
  const order: number[] = [];
  for (let head = 0; head < ready.length; head++) {
    const next = ready[head]!;
    order.push(next);
    for (const u of users[next]!) if (--indegree[u]! === 0) ready.push(u);
  }
  if (order.length < ops.length) {
    const stuck = ops.flatMap((op, i) => (indegree[i]! > 0 ? [op.name] : []));
    throw new InvalidInputError(
      [{ path: 'ops', message: `the graph has a cycle through ops ${stuck.slice(0, 10).join(', ')}` }],
      'graph',
    );
  }
  return order;
}

/** The trained parameters a graph holds: the elements of its parameter tensors. */
export function paramElements(graph: OpGraph): number {
  let elements = 0;
  for (const tensor of graph.tensors.values()) if (tensor.param) elements += tensor.numel;
  return elements;
}
