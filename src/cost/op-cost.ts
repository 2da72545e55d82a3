import { collectiveSec } from '../cluster/collectives.ts';
import type { LogicalMesh } from '../cluster/mesh.ts';
import type { GraphOp, GraphTensor, OpGraph } from '../graph/graph.ts';
import { DIM } from '../graph/letters.ts';
import {
  DEFAULT_RECOMPUTE_MODULES,
  DTYPE_BYTES,
  type Dtype,
  type GpuSpec,
  type Phase,
  type Recompute,
  type RecomputeModule,
} from '../schema/index.ts';
import { opComputeSec } from './compute.ts';
import { exchangeCost, NO_OUTER_GROUPS, type OuterGroups, type Transfer } from './exchange.ts';
import { gemmKernels } from './gemm.ts';
import { haloExchanges } from './halo.ts';
import { type Layout, shardCount } from './layout.ts';
import { LOSS_SAVED_BYTES_PER_LOGIT, OPMATH_BYTES } from './memory-kernels.ts';
import { quantizedCastSec, quantizedFormat } from './quantized-gemm.ts';
import type { Collective } from './reshard.ts';
import { recomputedOps, type SavedTensor, savedTensors } from './saved.ts';
import { type OpStrategy, operandLayout, outputLayout } from './strategy.ts';

const NO_EXCHANGE: OpCost['exchange'] = { forwardSec: 0, backwardSec: 0, transfers: [] };

/** Token ids, masks and labels do not set the math mode of the op that reads them. */
const FLOAT_DTYPES: ReadonlySet<Dtype> = new Set(['fp32', 'tf32', 'bf16', 'fp16', 'fp8', 'nvfp4']);

/*
 * An FP8 GEMM casts an activation to FP8 before gathering it: Transformer Engine's sequence-parallel
 * linear layers quantize their input (forward) and their output gradient (backward) and all-gather the
 * FP8 bytes (transformer_engine/pytorch/module/linear.py and layernorm_linear.py: the FP8 layer-norm
 * output gathered at v1.8, `gather_along_first_dim(..., quantizer=...)` at v2.8), and torchtitan's
 * float8 tensor parallelism all-gathers in float8 by default (docs/float8.md). Reductions sum partial
 * results and stay in the activation dtype. An NVFP4 GEMM's input is priced gathered the same way, in
 * NVFP4's bytes (quantized-gemm.ts).
 */
/** Bytes per element an all-gather moves of a `dtype` activation into `gemm` (or, as its gradient, out of it). */
export function gatheredElementBytes(gemm: GraphOp, dtype: Dtype): number {
  const bytes = DTYPE_BYTES[dtype];
  const format = quantizedFormat(gemm.computeDtype);
  return format !== null && FLOAT_DTYPES.has(dtype) ? Math.min(bytes, format.elementBytes) : bytes;
}

export interface PricedCollective extends Collective {
  readonly phase: Phase;
  /** Why it happens: "output reduction", "gradient of W", "reshard x". */
  readonly reason: string;
}

export interface OpCost {
  readonly forwardSec: number;
  readonly backwardSec: number;
  readonly collectives: readonly PricedCollective[];
  /** Collectives paid every microbatch: output reductions and their gradients, recomputation. */
  readonly commSec: number;
  /**
   * Of `commSec`, the framework's gather of the op's output (OpStrategy.gathersOutputOn): a plain
   * all-gather and its reduce-scatter, which no communication overlap hides.
   */
  readonly outputGatherSec: number;
  /**
   * All-reduces of parameter gradients partial on a mesh axis. With gradient accumulation they are
   * paid once per step, not per microbatch.
   */
  readonly gradSyncSec: number;
  /** Elements of the parameters this op owns (each charged to its first reader), held per device. */
  readonly paramElements: number;
  /** Of those, the experts' (sharded by expert parallelism, reduced over the expert-data group). */
  readonly expertParamElements: number;
  /** Of those, the weights of quantized GEMMs, which keep their quantized copies through the step. */
  readonly quantizedWeightElements: number;
  /** Of the quantized GEMMs' weights, the experts'. */
  readonly expertQuantizedWeightElements: number;
  /** What the op moves among outer-group peers itself (context, expert parallelism), exposed, per pass. */
  readonly exchange: {
    readonly forwardSec: number;
    readonly backwardSec: number;
    readonly transfers: readonly Transfer[];
  };
  /** Activations this op is charged with keeping for the backward pass (saved.ts). */
  readonly activationBytes: number;
  /** Of `backwardSec`, the GEMMs computing parameter gradients (compute.ts). */
  readonly weightGradientSec: number;
}

export interface CostContext {
  readonly graph: OpGraph;
  readonly mesh: LogicalMesh;
  readonly gpu: GpuSpec;
  /** The context- and expert-parallel groups around the stage. */
  readonly outer: OuterGroups;
  /** The op charged with each parameter's memory: its first consumer. */
  readonly paramOwner: ReadonlyMap<string, number>;
  readonly recompute: Recompute;
  /** What selective recomputation redoes: Megatron's modules (ops a graph marks itself too). */
  readonly recomputeModules: readonly RecomputeModule[];
  /** Saved tensors per charging op. */
  readonly saved: ReadonlyMap<number, readonly SavedTensor[]>;
  /** The ops whose forward runs again during backward, by index. */
  readonly recomputed: ReadonlySet<number>;
}

export function costContext(
  graph: OpGraph,
  mesh: LogicalMesh,
  gpu: GpuSpec,
  recompute: Recompute,
  outer: OuterGroups = NO_OUTER_GROUPS,
  recomputeModules: readonly RecomputeModule[] = DEFAULT_RECOMPUTE_MODULES,
): CostContext {
  const recomputed = recomputedOps(graph, recompute, recomputeModules);
  const saved = new Map<number, SavedTensor[]>();
  for (const s of savedTensors(graph, recompute, recomputeModules, recomputed)) {
    saved.set(s.op, [...(saved.get(s.op) ?? []), s]);
  }
  return {
    graph,
    mesh,
    gpu,
    outer,
    paramOwner: paramOwners(graph),
    recompute,
    recomputeModules,
    saved,
    recomputed,
  };
}

export function paramOwners(graph: OpGraph): Map<string, number> {
  const owner = new Map<string, number>();
  for (const op of graph.ops) {
    for (const t of op.inputs) if (graph.tensors.get(t)!.param && !owner.has(t)) owner.set(t, op.index);
  }
  return owner;
}

/**
 * What an op keeps of a float activation it saves for its backward. A quantized GEMM keeps the copy it
 * cast (Transformer Engine's Linear saves the quantized tensor for the weight gradient): one byte an
 * element in FP8, NVFP4's column-wise copy 0.5625. The loss keeps the fp32 softmax of its logits, not
 * the logits. Eager PyTorch's RMSNorm keeps its fp32 upcast (for the square's and the product's
 * backward) and its product before the weight, in the input's type (for the weight's gradient), where
 * one kernel keeps the input.
 */
function keptBytes(op: GraphOp, t: GraphTensor): number {
  if (!FLOAT_DTYPES.has(t.dtype) || t.param) return t.bytes;
  if (op.kind === 'loss') return t.numel * LOSS_SAVED_BYTES_PER_LOGIT;
  if (op.composite) return t.numel * OPMATH_BYTES + t.bytes;
  const format = quantizedFormat(op.computeDtype);
  return format === null ? t.bytes : t.numel * format.elementBytes;
}

/**
 * Compute, in-op collectives and memory of one op under one strategy. The backward pass is derived
 * (DESIGN.md §4): one contraction-sized kernel per input that needs a gradient, and an all-reduce of
 * every parameter gradient that is partial on a mesh axis. Activation gradients are reduced on the
 * edge to their producer (see edge-cost.ts), where the producer's layout says whether an all-reduce
 * or a reduce-scatter does it.
 */
export function costOfOp(op: GraphOp, strategy: OpStrategy, keepPartial: boolean, ctx: CostContext): OpCost {
  const { graph, mesh, gpu } = ctx;
  const sizes = mesh.shape;
  const ways = [0, 1].reduce((p, j) => (strategy.split[j] !== null ? p * sizes[j]! : p), 1);
  const out = graph.tensors.get(op.output)!;
  const outLayout = outputLayout(op, strategy, keepPartial);
  const outShardBytes = out.bytes / shardCount(outLayout, sizes);

  let inputBytes = 0;
  let gradientInputs = 0;
  let gradientMask = 0;
  let paramMask = 0;
  let gradientInputBytes = 0;
  const collectives: PricedCollective[] = [];
  /** Parameter-gradient all-reduces: data parallelism inside the mesh, paid once per step. */
  let gradSyncSec = 0;
  let paramElements = 0;
  let expertParamElements = 0;
  // The format the op's tensor cores run in, if it is a quantized GEMM.
  const format = quantizedFormat(op.computeDtype);
  let quantizedWeightElements = 0;
  let expertQuantizedWeightElements = 0;
  /** Bytes of the activations the op reads, per device: what a quantized GEMM casts. */
  let activationInputBytes = 0;
  /** Of those, the ones its backward keeps and reads again (GraphOp.keptInputs). */
  let keptInputBytes = 0;
  let exchangedBytes = op.exchange?.output ? out.bytes / shardCount(outLayout, sizes) : 0;
  op.inputs.forEach((name, i) => {
    const t = graph.tensors.get(name)!;
    const letters = op.einsum.inputs[i]!;
    const layout: Layout = operandLayout(strategy, letters);
    const shards = shardCount(layout, sizes);
    inputBytes += t.bytes / shards;
    if (op.exchange?.operands.includes(i)) exchangedBytes += t.bytes / shards;
    if (t.param || t.producer !== null) {
      gradientInputs++;
      gradientMask |= 1 << i;
      gradientInputBytes += t.bytes / shards;
    }
    if (!t.param) {
      if (FLOAT_DTYPES.has(t.dtype)) {
        activationInputBytes += t.bytes / shards;
        if (op.keptInputs.has(i)) keptInputBytes += t.bytes / shards;
      }
      return;
    }
    paramMask |= 1 << i;
    if (ctx.paramOwner.get(name) === op.index) {
      paramElements += t.numel / shards;
      if (letters.includes(DIM.experts)) expertParamElements += t.numel / shards;
      if (format !== null) {
        quantizedWeightElements += t.numel / shards;
        if (letters.includes(DIM.experts)) expertQuantizedWeightElements += t.numel / shards;
      }
    }
    for (const j of [0, 1] as const) {
      if (strategy.split[j] === null || layout[j] !== 'R') continue;
      const bytes = t.bytes / shards;
      const sec = collectiveSec('all-reduce', mesh.axes[j], bytes);
      gradSyncSec += sec;
      if (sec > 0)
        collectives.push({
          kind: 'all-reduce',
          axis: j,
          bytes,
          sec,
          phase: 'backward',
          reason: `gradient of ${name}`,
        });
    }
  });

  if (!keepPartial) {
    // Reduce-scatters shrink the buffer for the reductions after them; the backward pass pays the
    // transposed all-gather of the output gradient for each.
    let buffer = out.bytes / shardCount(operandLayout(strategy, op.einsum.output), sizes);
    for (const j of [0, 1] as const) {
      const letter = strategy.split[j];
      // A routing op's split tokens land in disjoint slots: nothing to reduce.
      if (letter === null || !op.einsum.contracted.includes(letter) || strategy.slots?.[j]) continue;
      const scatter = (strategy.scatter?.[j] ?? null) !== null;
      const kind = scatter ? 'reduce-scatter' : 'all-reduce';
      const sec = collectiveSec(kind, mesh.axes[j], buffer);
      if (sec > 0) {
        collectives.push({ kind, axis: j, bytes: buffer, sec, phase: 'forward', reason: 'output reduction' });
        if (scatter) {
          const gradientBytes = (buffer * gatheredElementBytes(op, out.dtype)) / DTYPE_BYTES[out.dtype];
          collectives.push({
            kind: 'all-gather',
            axis: j,
            bytes: gradientBytes,
            sec: gradientBytes === buffer ? sec : collectiveSec('all-gather', mesh.axes[j], gradientBytes),
            phase: 'backward',
            reason: 'output gradient',
          });
        }
      }
      if (scatter) buffer /= sizes[j];
    }
  }

  collectives.push(...haloExchanges(op, strategy, graph, mesh));
  const outputGather =
    strategy.gathersOutputOn === undefined
      ? []
      : outputGatherCollectives(strategy.gathersOutputOn, outShardBytes, mesh);
  collectives.push(...outputGather);

  const floatInput = op.inputs.map((t) => graph.tensors.get(t)!).find((t) => FLOAT_DTYPES.has(t.dtype));
  const launches = gemmKernels(op, strategy.split, sizes);
  const kernels = opComputeSec(
    op,
    {
      split: strategy.split,
      axisSizes: sizes,
      flops: op.flops / ways,
      gradientMask,
      gradientInputs,
      paramMask,
      dtype: op.computeDtype ?? (floatInput ?? out).dtype,
      outputElementBytes: DTYPE_BYTES[out.dtype],
      inputBytes,
      activationInputBytes: keptInputBytes,
      gradientInputBytes,
      outputBytes: outShardBytes,
      outputElements: outShardBytes / DTYPE_BYTES[out.dtype],
      gemmKernels: launches,
    },
    gpu,
  );
  // A quantized GEMM casts its bf16 activations and, backward, the output gradient (and FP8 the
  // inputs' transposes): Transformer Engine's separate, memory-bound kernels.
  const casts =
    format === null
      ? null
      : quantizedCastSec(format, activationInputBytes, outShardBytes, gpu, launches, op.fusedWith !== null);
  const forwardSec = kernels.forwardSec + (casts?.forwardSec ?? 0);
  let backwardSec = kernels.backwardSec + (casts?.backwardSec ?? 0);
  const moved =
    op.exchange === null
      ? NO_EXCHANGE
      : exchangeCost(
          op.exchange,
          ctx.outer,
          exchangedBytes,
          { forward: forwardSec, backward: backwardSec },
          exchangesGradient(op, graph),
        );
  let exchange = moved;
  const recomputed = ctx.recomputed.has(op.index);
  if (recomputed) {
    backwardSec += forwardSec;
    // A recomputed forward moves its data again.
    exchange = { ...moved, backwardSec: moved.backwardSec + moved.forwardSec };
    collectives.push(...againInBackward(collectives));
  }
  // Full recomputation redoes Megatron's QKV projection, gather and all.
  const outputGathers = recomputed ? [...outputGather, ...againInBackward(outputGather)] : outputGather;
  let activationBytes = 0;
  for (const s of ctx.saved.get(op.index) ?? []) {
    const t = graph.tensors.get(s.tensor)!;
    const savedBytes = keptBytes(op, t);
    if (s.as.kind === 'input')
      activationBytes +=
        savedBytes / shardCount(operandLayout(strategy, op.einsum.inputs[s.as.index]!), sizes);
    else activationBytes += (s.as.kind === 'mask' ? t.numel : t.bytes) / shardCount(outLayout, sizes);
  }
  return {
    forwardSec,
    backwardSec,
    collectives,
    commSec: collectives.reduce((s, c) => s + c.sec, 0) - gradSyncSec,
    outputGatherSec: outputGathers.reduce((s, c) => s + c.sec, 0),
    gradSyncSec,
    paramElements,
    expertParamElements,
    quantizedWeightElements,
    expertQuantizedWeightElements,
    exchange,
    activationBytes,
    weightGradientSec: kernels.weightGradientSec,
  };
}

const gradientCache = new WeakMap<GraphOp, boolean>();

/**
 * Whether what an op exchanges has a gradient to send back: a float tensor among those it moves.
 * It depends on the op alone, so it is worked out once per op, not per strategy and mesh.
 */
function exchangesGradient(op: GraphOp, graph: OpGraph): boolean {
  const cached = gradientCache.get(op);
  if (cached !== undefined) return cached;
  const moved = op.exchange?.output ? [op.output] : [];
  for (const i of op.exchange?.operands ?? []) moved.push(op.inputs[i]!);
  const carries = moved.some((name) => FLOAT_DTYPES.has(graph.tensors.get(name)!.dtype));
  gradientCache.set(op, carries);
  return carries;
}

/** What a recomputed forward runs again during the backward: its forward collectives. */
function againInBackward(collectives: readonly PricedCollective[]): PricedCollective[] {
  return collectives
    .filter((c) => c.phase === 'forward' && !c.reason.startsWith('recompute'))
    .map((c) => ({ ...c, phase: 'backward', reason: `recompute ${c.reason}` }));
}

/** The all-gather of an output gathered over axis `j` (OpStrategy.gathersOutputOn) and its gradient's reduce-scatter. */
function outputGatherCollectives(j: 0 | 1, outShardBytes: number, mesh: LogicalMesh): PricedCollective[] {
  // Both are priced on the whole output: the gather's total, the scatter's buffer on each device.
  const bytes = outShardBytes * mesh.shape[j]!;
  return [
    {
      kind: 'all-gather',
      axis: j,
      bytes,
      sec: collectiveSec('all-gather', mesh.axes[j]!, bytes),
      phase: 'forward',
      reason: 'output gathered and sliced',
    },
    {
      kind: 'reduce-scatter',
      axis: j,
      bytes,
      sec: collectiveSec('reduce-scatter', mesh.axes[j]!, bytes),
      phase: 'backward',
      reason: 'gathered output gradient',
    },
  ];
}
