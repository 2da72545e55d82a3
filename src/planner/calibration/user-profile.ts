/**
 * A user's calibration (DESIGN.md §10): measured step times of a few runs on their cluster fit the
 * same factors the catalog's generations are fitted on, starting from the catalog's, and become a
 * profile that plan and estimate requests name as `cluster.profile`.
 */
import {
  type CalibrationProfile,
  CalibrationRequest,
  InvalidInputError,
  type PlanRequestInput,
  parseOrThrow,
} from '../../schema/index.ts';
import { estimate } from '../estimate.ts';
import {
  type CalibrationRun,
  catalogEfficiency,
  fitFactors,
  gpuName,
  type Pricer,
  StepTimes,
} from './fit.ts';

/** Runs as given, without a profile of their own: a calibration starts from the catalog. */
function withoutProfile(request: PlanRequestInput): PlanRequestInput {
  const { profile: _ignored, ...cluster } = request.cluster;
  return { ...request, cluster };
}

/**
 * Validates measured runs: every request must price as given (degrees that multiply to the devices,
 * a known GPU), all on one GPU; issues name the field (`runs[3].measured.stepTimeSec`).
 */
async function measuredRuns(body: unknown, price: Pricer): Promise<CalibrationRun[]> {
  const parsed = parseOrThrow(CalibrationRequest, body, 'calibration');
  const runs: CalibrationRun[] = [];
  for (const [i, run] of parsed.runs.entries()) {
    const request = withoutProfile(run.request);
    if (
      request.parallel?.tp === undefined ||
      request.parallel.pp === undefined ||
      request.parallel.dp === undefined
    ) {
      throw new InvalidInputError(
        [{ path: `runs[${i}].request.parallel`, message: 'a measured run pins its tp, pp and dp' }],
        'calibration',
      );
    }
    try {
      await price(request);
    } catch (error) {
      throw error instanceof InvalidInputError ? error.under(`runs[${i}].request`) : error;
    }
    const first = runs[0];
    if (first !== undefined && gpuName(first.request).toLowerCase() !== gpuName(request).toLowerCase()) {
      throw new InvalidInputError(
        [
          {
            path: `runs[${i}].request.cluster.gpu`,
            message: `a profile calibrates one GPU: runs[0] ran on ${gpuName(first.request)}, this one on ${gpuName(request)}`,
          },
        ],
        'calibration',
      );
    }
    runs.push({ id: run.name ?? `runs[${i}]`, request, measuredStepSec: run.measured.stepTimeSec });
  }
  return runs;
}

/** Fits the GPU's efficiency factors to the measured runs in `body` (a CalibrationRequest). */
export async function calibrateProfile(
  body: unknown,
  options: { readonly price?: Pricer; readonly now?: Date } = {},
): Promise<CalibrationProfile> {
  const price = options.price ?? estimate;
  const runs = await measuredRuns(body, price);
  const fit = await fitFactors(runs, catalogEfficiency(runs[0]!.request), { times: new StepTimes(price) });
  return {
    kind: 'meshplan-profile',
    gpu: gpuName(runs[0]!.request),
    factors: fit.factors,
    fittedOn: runs.length,
    residuals: [...fit.residuals],
    createdAt: (options.now ?? new Date()).toISOString(),
  };
}
