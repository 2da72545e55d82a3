import { precisionOptions, resolveDims, type TransformerDims } from '../model/dims.ts';
import type { PlannedLayer } from '../model/planned.ts';
import { InvalidInputError, type PlanRequest, type StageOut, type Summary } from '../schema/index.ts';
import { checkLayouts, type LayoutFindings } from './layout-check.ts';
import { blocksPerStage } from './pipeline-split.ts';
import { type ModelLayers, resolveLayers } from './planned-layers.ts';

/** Everything the exporters read, derived once from the plan. */
export interface ExportContext {
  readonly request: PlanRequest;
  readonly summary: Summary;
  readonly stages: readonly StageOut[];
  readonly model: ModelLayers;
  /** The transformer's sizes with defaults applied; null for a general graph. */
  readonly dims: TransformerDims | null;
  readonly layout: LayoutFindings;
  /** Transformer blocks per stage (empty for a general graph, which has no blocks). */
  readonly blocks: readonly number[];
  /** Devices in the whole job: pp stages × dp·cp·tp devices each. */
  readonly devices: number;
  /**
   * Sequences per microbatch on one data-parallel rank. `summary.microBatch` is a pipeline
   * replica's microbatch, which data-parallel mesh axes inside a stage split further.
   */
  readonly rankMicroBatch: number;
  /** Why the batch settings cannot be written per rank; null when they can. */
  readonly batchProblem: string | null;
}

export function exportContext(
  request: PlanRequest,
  summary: Summary,
  stages: readonly StageOut[],
  layers?: readonly PlannedLayer[],
): ExportContext {
  if (stages.length === 0) {
    throw new InvalidInputError(
      [{ path: 'stages', message: 'a plan without stages has no exports' }],
      'plan',
    );
  }
  if (stages.length !== summary.pp) {
    throw new InvalidInputError(
      [{ path: 'stages', message: `${stages.length} stages, but the summary says pp = ${summary.pp}` }],
      'plan',
    );
  }
  const model = resolveLayers(request, summary.microBatch, stages, layers);
  const dims =
    request.model.kind === 'transformer'
      ? resolveDims(request.model, { microBatch: summary.microBatch, ...precisionOptions(request.training) })
      : null;
  const stageDevices = stages[0]!.logicalMesh[0] * stages[0]!.logicalMesh[1];
  const inStageDataWays = stageDevices / summary.tp;
  const rankMicroBatch = summary.microBatch / inStageDataWays;
  const perStep = rankMicroBatch * summary.microbatches * summary.dp;
  const batchProblem = !Number.isInteger(rankMicroBatch)
    ? `the microbatch of ${summary.microBatch} sequences does not split over the ${inStageDataWays} data-parallel ways inside a stage`
    : perStep !== request.training.globalBatch
      ? `microbatch ${rankMicroBatch} × ${summary.microbatches} microbatches × dp ${summary.dp} = ${perStep} sequences, not the requested global batch of ${request.training.globalBatch}`
      : null;
  return {
    request,
    summary,
    stages,
    model,
    dims,
    layout: checkLayouts(stages, model.ops, summary),
    blocks: dims === null ? [] : blocksPerStage(stages, model.layers.length),
    devices: summary.pp * summary.dp * summary.cp * summary.tp,
    rankMicroBatch,
    batchProblem,
  };
}
