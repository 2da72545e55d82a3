/**
 * Resharding between ops (DESIGN.md §4): what moving a tensor from the layout its producer writes to
 * the one its consumer reads costs, forward and backward. One rule prices an edge for the ILP's cost
 * matrices and for the plan's per-op report.
 */

import type { GraphOp, GraphTensor } from '../graph/graph.ts';
import type { IntraOpModel, TensorEdge } from './intra-op.ts';
import type { Layout } from './layout.ts';
import { gatheredElementBytes } from './op-cost.ts';
import { NO_RESHARD, type Reshard, reshard, resolvedLayout, thenReshard } from './reshard.ts';
import { type OpStrategy, operandGradientLayout, operandLayout, outputLayout } from './strategy.ts';

export interface EdgeReshards {
  readonly forward: Reshard;
  /** Everything the backward pass moves on the edge: the input gradient, and a recomputed read. */
  readonly backward: Reshard;
  /** Of `backward`, the consumer's input gradient moved onto the producer's layout. */
  readonly inputGradient: Reshard;
  /** Of `backward`, the forward's move again for a consumer that recomputes its forward pass. */
  readonly recomputed: Reshard;
}

/**
 * An edge between a produced layout and the layouts its consumer reads (`read`) and hands its
 * gradient back in (`gradient`). The backward pass moves the gradient onto what the producer
 * needs; a recomputed consumer reads its input again, resharding included. An FP8 GEMM's gathers
 * move FP8 bytes (op-cost.ts `gatheredElementBytes`).
 */
function reshardsOfLayouts(
  model: IntraOpModel,
  edge: TensorEdge,
  produced: Layout,
  read: Layout,
  gradient: Layout,
): EdgeReshards {
  const tensor = model.graph.tensors.get(edge.tensor)!;
  const ops = model.graph.ops;
  const consumer = ops[edge.consumer]!;
  const forward = reshard(tensor.bytes, produced, read, model.mesh, gatheredBytes(tensor, consumer));
  const inputGradient = reshard(
    tensor.bytes,
    gradient,
    resolvedLayout(produced),
    model.mesh,
    gatheredBytes(tensor, ops[edge.producer]!),
  );
  const recomputed = model.ctx.recomputed.has(consumer.index) ? forward : NO_RESHARD;
  return { forward, inputGradient, recomputed, backward: thenReshard(inputGradient, recomputed) };
}

function gatheredBytes(tensor: GraphTensor, gemm: GraphOp): number {
  return tensor.numel * gatheredElementBytes(gemm, tensor.dtype);
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
 * What an edge moves, as keys equal for every edge of its tensor that moves the same data: the
 * produced tensor onto the layout read (`forward`), the gradient onto the produced layout
 * (`gradient`), each with the bytes its gathers carry. Consumers reading a tensor in one layout
 * share one move (layout-eval.ts); the ILP's pairwise matrices do not ask.
 */
export function edgeMoveKeys(
  model: IntraOpModel,
  edge: TensorEdge,
  producer: OpStrategy,
  consumer: OpStrategy,
): { readonly forward: string; readonly gradient: string } {
  const tensor = model.graph.tensors.get(edge.tensor)!;
  const ops = model.graph.ops;
  const produced = producedLayout(model, edge, producer);
  const [read, gradient] = consumedLayouts(model, edge, consumer);
  const readBytes = gatheredBytes(tensor, ops[edge.consumer]!);
  const gradientBytes = gatheredBytes(tensor, ops[edge.producer]!);
  return {
    forward: `${edge.tensor} ${JSON.stringify(produced)}>${JSON.stringify(read)} ${readBytes}`,
    gradient: `${edge.tensor}' ${JSON.stringify(gradient)}>${JSON.stringify(resolvedLayout(produced))} ${gradientBytes}`,
  };
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
