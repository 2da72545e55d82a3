/**
 * Resharding between ops (DESIGN.md §4): what moving a tensor from the layout its producer writes to
 * the one its consumer reads costs, forward and backward. One rule prices an edge for the ILP's cost
 * matrices and for the plan's per-op report.
 */

import type { GraphOp, GraphTensor } from '../graph/graph.ts';
import { DTYPE_BYTES, type Dtype } from '../schema/index.ts';
import type { IntraOpModel, TensorEdge } from './intra-op.ts';
import type { Layout } from './layout.ts';
import { NO_RESHARD, type Reshard, reshard, resolvedLayout } from './reshard.ts';
import { recomputesForward } from './saved.ts';
import { type OpStrategy, operandGradientLayout, operandLayout, outputLayout } from './strategy.ts';

export interface EdgeReshards {
  readonly forward: Reshard;
  /** Everything the backward pass moves on the edge: the input gradient, and a recomputed read. */
  readonly backward: Reshard;
  /** Of `backward`, the consumer's input gradient moved onto the producer's layout. */
  readonly inputGradient: Reshard;
  /** Of `backward`, the forward's move again for a consumer that recomputes its forward pass. */
  readonly recomputed: Reshard;
  /**
   * What the edge moves, as keys equal for every edge of the tensor that moves the same data: the
   * produced tensor onto the layout read (`forward`), the gradient onto the produced layout
   * (`gradient`). Consumers reading a tensor in one layout share one move (see layout-eval.ts).
   */
  readonly moves: { readonly forward: string; readonly gradient: string };
}

/**
 * An edge between a produced layout and the layouts its consumer reads (`read`) and hands its
 * gradient back in (`gradient`). The backward pass moves the gradient onto what the producer
 * needs; a recomputed consumer reads its input again, resharding included.
 */
function reshardsOfLayouts(
  model: IntraOpModel,
  edge: TensorEdge,
  produced: Layout,
  read: Layout,
  gradient: Layout,
): EdgeReshards {
  const tensor = model.graph.tensors.get(edge.tensor)!;
  const { bytes } = tensor;
  const ops = model.graph.ops;
  const target = resolvedLayout(produced);
  const readBytes = gatheredBytes(tensor, ops[edge.consumer]!);
  const gradientBytes = gatheredBytes(tensor, ops[edge.producer]!);
  const forward = reshard(bytes, produced, read, model.mesh, readBytes);
  const inputGradient = reshard(bytes, gradient, target, model.mesh, gradientBytes);
  const moves = {
    forward: `${edge.tensor} ${JSON.stringify(produced)}>${JSON.stringify(read)} ${readBytes}`,
    gradient: `${edge.tensor}' ${JSON.stringify(gradient)}>${JSON.stringify(target)} ${gradientBytes}`,
  };
  const { recompute, recomputeModules } = model.ctx;
  if (!recomputesForward(ops[edge.consumer]!, recompute, recomputeModules))
    return { forward, backward: inputGradient, inputGradient, recomputed: NO_RESHARD, moves };
  return {
    forward,
    inputGradient,
    recomputed: forward,
    backward: {
      sec: inputGradient.sec + forward.sec,
      collectives: [...inputGradient.collectives, ...forward.collectives],
    },
    moves,
  };
}

/*
 * An FP8 GEMM casts an activation to FP8 before gathering it: Transformer Engine's sequence-parallel
 * linear layers quantize their input (forward) and their output gradient (backward) and all-gather the
 * FP8 bytes (transformer_engine/pytorch/module/linear.py and layernorm_linear.py: the FP8 layer-norm
 * output gathered at v1.8, `gather_along_first_dim(..., quantizer=...)` at v2.8), and torchtitan's
 * float8 tensor parallelism all-gathers in float8 by default (docs/float8.md). Reductions sum partial
 * results and stay in the activation dtype.
 */
const FLOAT_ACTIVATION: ReadonlySet<Dtype> = new Set(['fp32', 'bf16', 'fp16']);

/** Bytes an all-gather moves of `tensor` on its way into (or, as a gradient, out of) `gemm`. */
function gatheredBytes(tensor: GraphTensor, gemm: GraphOp): number {
  return gemm.computeDtype === 'fp8' && !tensor.param && FLOAT_ACTIVATION.has(tensor.dtype)
    ? tensor.numel * DTYPE_BYTES.fp8
    : tensor.bytes;
}

function producedLayout(model: IntraOpModel, edge: TensorEdge, producer: OpStrategy): Layout {
  return outputLayout(model.graph.ops[edge.producer]!, producer, model.keepsPartial[edge.producer]!);
}

function consumedLayouts(model: IntraOpModel, edge: TensorEdge, consumer: OpStrategy): [Layout, Layout] {
  const letters = model.graph.ops[edge.consumer]!.einsum.inputs[edge.input]!;
  return [operandLayout(consumer, letters), operandGradientLayout(consumer, letters)];
}

/** The collectives an edge needs when its producer and consumer take these strategies. */
export function edgeReshards(
  model: IntraOpModel,
  edge: TensorEdge,
  producer: OpStrategy,
  consumer: OpStrategy,
): EdgeReshards {
  const [read, gradient] = consumedLayouts(model, edge, consumer);
  return reshardsOfLayouts(model, edge, producedLayout(model, edge, producer), read, gradient);
}

/**
 * The seconds an edge costs for every (producer strategy, consumer strategy) pair. Strategies far
 * outnumber the distinct layouts they give one tensor, so reshards are priced once per layout pair.
 */
export function edgeCostMatrix(model: IntraOpModel, edge: TensorEdge): number[][] {
  const fromIds = new Distinct<Layout>();
  const toIds = new Distinct<readonly [Layout, Layout]>();
  const rowOf = model.groups[model.groupOf[edge.producer]!]!.strategies.map((s) =>
    fromIds.id(producedLayout(model, edge, s.members.get(edge.producer)!.strategy)),
  );
  const colOf = model.groups[model.groupOf[edge.consumer]!]!.strategies.map((s) =>
    toIds.id(consumedLayouts(model, edge, s.members.get(edge.consumer)!.strategy)),
  );
  const distinct = fromIds.values.map((from) =>
    toIds.values.map(([read, gradient]) => {
      const r = reshardsOfLayouts(model, edge, from, read, gradient);
      return r.forward.sec + r.backward.sec;
    }),
  );
  return rowOf.map((r) => colOf.map((c) => distinct[r]![c]!));
}

/** Interns values by their JSON form: a handful of distinct layouts stand for many strategies. */
class Distinct<T> {
  readonly values: T[] = [];
  private readonly ids = new Map<string, number>();
  id(value: T): number {
    const key = JSON.stringify(value);
    let id = this.ids.get(key);
    if (id === undefined) {
      id = this.values.length;
      this.values.push(value);
      this.ids.set(key, id);
    }
    return id;
  }
}
