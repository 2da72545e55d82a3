import type { GraphOp, OpGraph } from '../graph/graph.ts';
import { precisionOptions } from '../model/dims.ts';
import type { PlannedLayer } from '../model/planned.ts';
import { planModel } from '../model/planned.ts';
import { InvalidInputError, type OpLayoutOut, type PlanRequest, type StageOut } from '../schema/index.ts';

/** One op of a stage's layer plan, with the graph op it describes (einsum letters, parameters). */
export interface ResolvedOp {
  readonly stage: number;
  /** Where the op sits in the plan, e.g. `stages[2].layerPlans[0].ops[5]`. */
  readonly path: string;
  readonly out: OpLayoutOut;
  readonly op: GraphOp;
  /** The layer the plan names (the first of its kind in the stage). */
  readonly layer: PlannedLayer;
}

/** The model's layers as the planner indexed them, and every planned op resolved against them. */
export interface ModelLayers {
  readonly layers: readonly PlannedLayer[];
  readonly ops: readonly ResolvedOp[];
}

function opIndexOf(graph: OpGraph, cache: Map<OpGraph, Map<string, number>>): Map<string, number> {
  let index = cache.get(graph);
  if (index === undefined) {
    index = new Map(graph.ops.map((op) => [op.name, op.index]));
    cache.set(graph, index);
  }
  return index;
}

/**
 * Resolves the stages against the model's layers. The planner passes its own layers; otherwise
 * they are rebuilt from the request with the planner's own builder, so op and tensor names match
 * (`OpLayoutOut` carries no einsum letters and does not say which inputs are parameters).
 */
export function resolveLayers(
  request: PlanRequest,
  microBatch: number,
  stages: readonly StageOut[],
  given?: readonly PlannedLayer[],
): ModelLayers {
  const layers =
    given ?? planModel(request.model, { microBatch, ...precisionOptions(request.training) }).layers;
  const byName = new Map(layers.map((l) => [l.name, l]));
  const cache = new Map<OpGraph, Map<string, number>>();
  const ops: ResolvedOp[] = [];
  stages.forEach((stage, s) => {
    if (stage.layers[0] < 0 || stage.layers[1] >= layers.length || stage.layers[0] > stage.layers[1]) {
      throw new InvalidInputError(
        [{ path: `stages[${s}].layers`, message: `not a range of the model's ${layers.length} layers` }],
        'plan',
      );
    }
    stage.layerPlans.forEach((layerPlan, p) => {
      const layer = byName.get(layerPlan.layer);
      if (layer === undefined) {
        throw new InvalidInputError(
          [
            {
              path: `stages[${s}].layerPlans[${p}].layer`,
              message: `no layer "${layerPlan.layer}" in the model`,
            },
          ],
          'plan',
        );
      }
      const index = opIndexOf(layer.graph, cache);
      layerPlan.ops.forEach((out, k) => {
        const path = `stages[${s}].layerPlans[${p}].ops[${k}]`;
        const i = index.get(out.op);
        if (i === undefined) {
          throw new InvalidInputError(
            [
              {
                path: `${path}.op`,
                message: `no op "${out.op}" in layer "${layer.name}"`,
              },
            ],
            'plan',
          );
        }
        ops.push({ stage: s, path, out, op: layer.graph.ops[i]!, layer });
      });
    });
  });
  return { layers, ops };
}

/**
 * The name a tensor of `layer` has in the model. Identical layers share the first one's graph,
 * names and all (planner/model.ts), so `block0.wq` read for block 17 is `block17.wq`.
 */
export function tensorNameIn(layer: PlannedLayer, tensor: string): string {
  const prefix = `${layer.graph.name}.`;
  return layer.graph.name !== layer.name && tensor.startsWith(prefix)
    ? `${layer.name}.${tensor.slice(prefix.length)}`
    : tensor;
}
