/**
 * Resharding between ops (DESIGN.md §4): what moving a tensor from the layout its producer writes to
 * the one its consumer reads costs, forward and backward. One rule prices an edge for the ILP's cost
 * matrices and for the plan's per-op report.
 */

import type { IntraOpModel, TensorEdge } from './intra-op.ts';
import type { Layout } from './layout.ts';
import { type Reshard, reshard, resolvedLayout } from './reshard.ts';
import { recomputesForward } from './saved.ts';
import { type OpStrategy, operandGradientLayout, operandLayout, outputLayout } from './strategy.ts';

export interface EdgeReshards {
  readonly forward: Reshard;
  /** Everything the backward pass moves on the edge: the input gradient, and a recomputed read. */
  readonly backward: Reshard;
  /** Of `backward`, the consumer's input gradient moved onto the producer's layout. */
  readonly inputGradient: Reshard;
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
  const bytes = model.graph.tensors.get(edge.tensor)!.bytes;
  const forward = reshard(bytes, produced, read, model.mesh);
  const backward = reshard(bytes, gradient, resolvedLayout(produced), model.mesh);
  const { recompute, recomputeModules } = model.ctx;
  if (!recomputesForward(model.graph.ops[edge.consumer]!, recompute, recomputeModules))
    return { forward, backward, inputGradient: backward };
  return {
    forward,
    inputGradient: backward,
    backward: {
      sec: backward.sec + forward.sec,
      collectives: [...backward.collectives, ...forward.collectives],
    },
  };
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
