/**
 * A user's calibration (DESIGN.md §10): measured step times of a few runs on their cluster fit the
 * same factors the catalog's generations are fitted on, starting from the catalog's, and become a
 * profile that plan and estimate requests name as `cluster.profile`.
 */
import { GiB } from '../../cluster/gpus/common.ts';
import {
  type CalibrationProfile,
  CalibrationRequest,
  type Efficiency,
  InvalidInputError,
  type MemoryResidual,
  type Plan,
  type PlanRequest,
  type PlanRequestInput,
  parseOrThrow,
} from '../../schema/index.ts';
import { estimate } from '../estimate.ts';
import { plannedCapacityBytes } from '../request.ts';
import {
  type CalibrationRun,
  catalogEfficiency,
  FACTOR_CEILING,
  FACTOR_FLOOR,
  type FitProgress,
  type FitResult,
  fitFactors,
  gpuName,
  type Pricer,
  StepTimes,
  withFactors,
} from './fit.ts';

/**
 * A run the fitted factors leave further off than this is named in the profile's warnings: past
 * what the published runs show of the model (issue 14's bound on any one run), a request that does
 * not describe the measured run is likelier than a cost the model lacks.
 */
const WARN_ERROR_PCT = 15;

/** A measured run as validated: what the fit takes, and its peak memory against the estimate's. */
interface ValidatedRun {
  readonly run: CalibrationRun;
  readonly memory: MemoryResidual | null;
}

/** Runs as given, without a profile of their own: a calibration starts from the catalog. */
function withoutProfile(request: PlanRequestInput): PlanRequestInput {
  const { profile: _ignored, ...cluster } = request.cluster;
  return { ...request, cluster };
}

/**
 * Every efficiency factor at its ceiling: each kernel at its peak, each link at its line rate, every
 * overlappable collective hidden. No run can be faster than the estimate under these.
 */
function atPeak(request: PlanRequestInput): Efficiency {
  const start = catalogEfficiency(request);
  return Object.fromEntries(Object.keys(start).map((name) => [name, FACTOR_CEILING])) as Efficiency;
}

/**
 * Validates measured runs: every request must price as given (degrees that multiply to the devices,
 * a known GPU), all on one GPU, each measured time no faster than the run can go at every peak;
 * issues name the field (`runs[3].measured.stepTimeSec`).
 */
async function measuredRuns(body: unknown, price: Pricer): Promise<ValidatedRun[]> {
  const parsed = parseOrThrow(CalibrationRequest, body, 'calibration');
  const runs: ValidatedRun[] = [];
  for (const [i, given] of parsed.runs.entries()) {
    const request = withoutProfile(given.request);
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
    let plan: Plan;
    try {
      plan = await price(request);
    } catch (error) {
      throw error instanceof InvalidInputError ? error.under(`runs[${i}].request`) : error;
    }
    const first = runs[0]?.run;
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
    const measuredSec = given.measured.stepTimeSec;
    const fastestSec = (await price(withFactors(request, atPeak(request)))).summary!.stepTimeSec;
    if (measuredSec < fastestSec) {
      throw new InvalidInputError(
        [
          {
            path: `runs[${i}].measured.stepTimeSec`,
            message: `${measuredSec} s is faster than this configuration runs with every kernel at the GPU's peak and every link at its line rate (${fastestSec.toPrecision(4)} s): the request does not describe the measured run (its model, batch, precision or GPUs), or the time is not one optimizer step's`,
          },
        ],
        'calibration',
      );
    }
    const id = given.name ?? `runs[${i}]`;
    runs.push({
      run: { id, request, measuredStepSec: measuredSec },
      memory: memoryResidual(id, given.measured.peakMemoryGiB, plan, given.request),
    });
  }
  return runs;
}

/** The run's measured peak memory beside the estimate's, where the run gives one. */
function memoryResidual(
  run: string,
  measuredGiB: number | undefined,
  plan: Plan,
  request: PlanRequest,
): MemoryResidual | null {
  if (measuredGiB === undefined) return null;
  const estimatedGiB = plan.summary!.peakMemoryBytes / GiB;
  return {
    run,
    measuredGiB,
    estimatedGiB,
    errorPct: ((estimatedGiB - measuredGiB) / measuredGiB) * 100,
    capacityGiB:
      plannedCapacityBytes(request, Math.min(...plan.stages!.map((s) => s.memory.capacityBytes))) / GiB,
    predictedToFit: plan.status === 'optimal',
  };
}

/** What the user should check before trusting the profile (CalibrationProfile.warnings). */
function fitWarnings(fit: FitResult, memory: readonly MemoryResidual[]): string[] {
  const warnings: string[] = [];
  for (const name of fit.fitted) {
    const value = fit.factors[name];
    if (value === FACTOR_FLOOR || value === FACTOR_CEILING)
      warnings.push(
        `${name} was fitted to its ${value === FACTOR_FLOOR ? 'floor' : 'ceiling'} (${value}): the runs ask for more than the factor can give, so some cost they pay is not the one it scales`,
      );
  }
  const far = fit.residuals.filter((r) => Math.abs(r.errorPct) > WARN_ERROR_PCT);
  for (const r of far)
    warnings.push(
      `${r.run}: the fitted factors leave it ${r.errorPct >= 0 ? '+' : ''}${r.errorPct.toFixed(1)}% off (estimated ${r.estimatedSec.toPrecision(4)} s, measured ${r.measuredSec} s); check that its request describes the run`,
    );
  for (const m of memory.filter((m) => !m.predictedToFit))
    warnings.push(
      `${m.run}: ran in ${m.measuredGiB} GiB, yet meshplan predicts ${m.estimatedGiB.toFixed(1)} GiB, over the ${m.capacityGiB.toFixed(1)} GiB it plans into: plans on this cluster will pass over configurations like it`,
    );
  return warnings;
}

/** Fits the GPU's efficiency factors to the measured runs in `body` (a CalibrationRequest). */
export async function calibrateProfile(
  body: unknown,
  options: {
    readonly price?: Pricer;
    readonly now?: Date;
    /** Called after each evaluation of the fit's objective (FIT_EVALUATION_BUDGET bounds their count). */
    readonly onProgress?: (progress: FitProgress) => void;
  } = {},
): Promise<CalibrationProfile> {
  const price = options.price ?? estimate;
  const validated = await measuredRuns(body, price);
  const runs = validated.map((v) => v.run);
  const fit = await fitFactors(runs, catalogEfficiency(runs[0]!.request), {
    times: new StepTimes(price, options.onProgress),
  });
  const memoryResiduals = validated.flatMap((v) => (v.memory === null ? [] : [v.memory]));
  const warnings = fitWarnings(fit, memoryResiduals);
  return {
    kind: 'meshplan-profile',
    gpu: gpuName(runs[0]!.request),
    factors: fit.factors,
    fittedOn: runs.length,
    residuals: [...fit.residuals],
    ...(memoryResiduals.length > 0 ? { memoryResiduals } : {}),
    ...(warnings.length > 0 ? { warnings } : {}),
    createdAt: (options.now ?? new Date()).toISOString(),
  };
}
