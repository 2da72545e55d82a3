import type { PlannedLayer } from '../model/planned.ts';
import type { Exports, PlanRequest, StageOut, Summary } from '../schema/index.ts';
import { exportContext } from './context.ts';
import { deepspeedExport } from './deepspeed.ts';
import { jaxExport } from './jax.ts';
import { megatronExport } from './megatron.ts';
import { torchtitanExport } from './torchtitan.ts';

/**
 * The plan written as each framework's settings (DESIGN.md §8). Where a framework cannot run the
 * plan as planned — uneven stages, layouts other than Megatron's, ZeRO-3 in Megatron-LM — its
 * export says so (`expressible: false` and a note) rather than describe a different plan.
 *
 * `layers` are the planner's own model layers (`PlannedModel.layers`), which the stages' op and
 * tensor names refer to; without them they are rebuilt from the request.
 */
export function buildExports(
  request: PlanRequest,
  summary: Summary,
  stages: readonly StageOut[],
  layers?: readonly PlannedLayer[],
): Exports {
  const ctx = exportContext(request, summary, stages, layers);
  return {
    megatron: megatronExport(ctx),
    deepspeed: deepspeedExport(ctx),
    torchtitan: torchtitanExport(ctx),
    jax: jaxExport(ctx),
  };
}
