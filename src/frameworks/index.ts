import type { PlannedLayer } from '../model/planned.ts';
import type { Exports, FrameworkName, PlanRequest, StageOut, Summary } from '../schema/index.ts';
import { type ExportContext, exportContext } from './context.ts';
import { deepspeedExport } from './deepspeed/export.ts';
import { deepspeed } from './deepspeed/rules.ts';
import type { Framework } from './framework.ts';
import { jaxExport } from './jax/export.ts';
import { jax } from './jax/rules.ts';
import { megatronExport } from './megatron/export.ts';
import { megatron } from './megatron/rules.ts';
import { shapeOfPlan } from './shape.ts';
import { torchtitanExport } from './torchtitan/export.ts';
import { torchtitan } from './torchtitan/rules.ts';

export type {
  Framework,
  LayoutFamily,
  RequestedOverlaps,
  RunShape,
  RuntimePolicy,
  Verdict,
} from './framework.ts';
export { requestedOverlaps } from './framework.ts';

/** Every framework meshplan plans for, by name (DESIGN.md §9). */
export const FRAMEWORKS: Readonly<Record<FrameworkName, Framework>> = {
  megatron,
  torchtitan,
  deepspeed,
  jax,
};

type Exporters = { readonly [F in FrameworkName]: (ctx: ExportContext) => Exports[F] };

const EXPORTERS: Exporters = {
  megatron: megatronExport,
  torchtitan: torchtitanExport,
  deepspeed: deepspeedExport,
  jax: jaxExport,
};

/**
 * One framework's export of a plan. A plan the framework's rules refuse is not expressible there,
 * whatever its exporter could write: the notes say why.
 */
function exportOf<F extends FrameworkName>(name: F, ctx: ExportContext): Exports[F] {
  const written = EXPORTERS[name](ctx);
  const verdict = FRAMEWORKS[name].runs(shapeOfPlan(ctx));
  if (verdict.ok || !written.expressible) return written;
  const why = `Not expressible in ${FRAMEWORKS[name].release}: ${verdict.reason}.`;
  return { ...written, expressible: false, files: [], notes: [why, ...written.notes] };
}

/**
 * The plan written as each framework's settings (DESIGN.md §8). Where a framework cannot run the
 * plan as planned, its export says so (`expressible: false` and a note) rather than describe a
 * different plan.
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
    megatron: exportOf('megatron', ctx),
    deepspeed: exportOf('deepspeed', ctx),
    torchtitan: exportOf('torchtitan', ctx),
    jax: exportOf('jax', ctx),
  };
}

/** One framework's export of a plan (for a framework's own best plan). */
export function buildExport<F extends FrameworkName>(
  name: F,
  request: PlanRequest,
  summary: Summary,
  stages: readonly StageOut[],
  layers?: readonly PlannedLayer[],
): Exports[F] {
  return exportOf(name, exportContext(request, summary, stages, layers));
}

/** Every export marked not expressible, for `reason` (a configuration that does not fit, say). */
export function notRunnable(exports: Exports, reason: string): Exports {
  const refuse = <E extends Exports[FrameworkName]>(e: E, release: string): E => ({
    ...e,
    expressible: false,
    files: [],
    notes: [`Not runnable with ${release}: ${reason}.`, ...e.notes],
  });
  return {
    megatron: refuse(exports.megatron, FRAMEWORKS.megatron.release),
    deepspeed: refuse(exports.deepspeed, FRAMEWORKS.deepspeed.release),
    torchtitan: refuse(exports.torchtitan, FRAMEWORKS.torchtitan.release),
    jax: refuse(exports.jax, FRAMEWORKS.jax.release),
  };
}
