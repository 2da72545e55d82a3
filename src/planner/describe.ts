import { type Layout, partialAxes, tensorSpec } from '../cost/layout.ts';
import type { LayoutEval } from '../cost/layout-eval.ts';
import { strategyLabel } from '../cost/strategy.ts';
import type { Coarsening } from '../graph/coarsen.ts';
import type { OpGraph } from '../graph/graph.ts';
import type { OpLayoutOut } from '../schema/index.ts';

function specOut(graph: OpGraph, tensor: string, layout: Layout) {
  return {
    tensor,
    spec: tensorSpec(layout, graph.tensors.get(tensor)!.shape.length),
    partialAxes: partialAxes(layout),
  };
}

/**
 * The per-op part of a plan (DESIGN.md §8): strategy, specs, collectives, seconds and memory.
 * `evaluated` counts parameter elements; `bytesPerParam` turns them into bytes of state.
 */
export function describeOps(
  graph: OpGraph,
  evaluated: LayoutEval,
  coarsening: Coarsening,
  bytesPerParam: number,
): OpLayoutOut[] {
  return graph.ops.map((op) => {
    const e = evaluated.ops[op.index]!;
    const leader = coarsening.leaderOf[op.index]!;
    const collectives = [...e.cost.collectives, ...e.reshards];
    return {
      op: op.name,
      kind: op.kind,
      follows: leader === op.index ? null : graph.ops[leader]!.name,
      strategy: { axis0: e.strategy.split[0], axis1: e.strategy.split[1], label: strategyLabel(e.strategy) },
      inputSpecs: op.inputs.map((t, i) => specOut(graph, t, e.inputLayouts[i]!)),
      outputSpec: specOut(graph, op.output, e.outputLayout),
      collectives: collectives.map((c) => ({ ...c })),
      computeSec: { forward: e.cost.forwardSec, backward: e.cost.backwardSec },
      commSec: collectives.reduce((s, c) => s + c.sec, 0),
      memoryBytes: {
        paramState: e.cost.paramElements * bytesPerParam,
        activations: e.cost.activationBytes,
      },
    };
  });
}
