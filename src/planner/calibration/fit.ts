/**
 * The fit of a GPU's efficiency factors to measured step times (DESIGN.md §10): the factors are
 * the only numbers calibration moves, every other figure stays the hardware's. Coordinate descent
 * with a golden-section search per factor, deterministic, over each factor's bounds.
 */
import { findGpu } from '../../cluster/catalog.ts';
import type { CalibrationProfile, Efficiency, PlanRequestInput, Residual } from '../../schema/index.ts';
import { Efficiency as EfficiencySchema } from '../../schema/index.ts';
import { estimate } from '../estimate.ts';

/** The factors calibration fits: every field of the GPU's `efficiency`, so a new one is fitted too. */
export const CALIBRATED_FACTORS = Object.keys(EfficiencySchema.shape) as readonly (keyof Efficiency)[];

/*
 * Every factor is a share of a peak (of tensor-core FLOP/s, of HBM bandwidth, of a collective's
 * time): the search stays inside (0, 1], above a floor no tuned kernel falls under.
 */
const FACTOR_FLOOR = 0.05;
const FACTOR_CEILING = 1;
/**
 * Golden-section stops once the bracket is this narrow: the first pass locates each factor to 2 % of
 * its peak, later passes to 0.4 % (which moves step times by well under 1 %), searching only this far
 * either side of what the previous pass found. Each trial prices every run, so trials are few.
 */
const COARSE_TOLERANCE = 0.02;
const FINE_TOLERANCE = 0.004;
const REFINE_HALF_WIDTH = 0.05;
const GOLDEN = (Math.sqrt(5) - 1) / 2;

/** One measured run: an estimate request with its parallel configuration pinned, and its step time. */
export interface CalibrationRun {
  readonly id: string;
  readonly request: PlanRequestInput;
  readonly measuredStepSec: number;
}

export interface FitResult {
  readonly factors: Efficiency;
  readonly meanAbsErrorPct: number;
  readonly residuals: readonly Residual[];
  /** Objective evaluations (each prices every run once). */
  readonly evaluations: number;
}

/** The name the request's GPU goes by, as a profile names it. */
export function gpuName(request: PlanRequestInput): string {
  const gpu = request.cluster.gpu;
  return typeof gpu === 'string' ? gpu : gpu.name;
}

/** The GPU's efficiency before any fit: the catalog's, or the description's own. */
export function catalogEfficiency(request: PlanRequestInput): Efficiency {
  const gpu = request.cluster.gpu;
  const spec = typeof gpu === 'string' ? findGpu(gpu)?.spec : gpu;
  if (spec === undefined) throw new Error(`unknown GPU ${String(gpu)}: validate the request first`);
  return EfficiencySchema.parse(spec.efficiency);
}

/** The request priced with `factors` in place of its GPU's efficiency (through `cluster.profile`). */
export function withFactors(request: PlanRequestInput, factors: Efficiency): PlanRequestInput {
  const profile: CalibrationProfile = {
    kind: 'meshplan-profile',
    gpu: gpuName(request),
    factors,
    fittedOn: 1,
    residuals: [],
    createdAt: '',
  };
  return { ...request, cluster: { ...request.cluster, profile } };
}

/** Prices runs under trial factors, remembering each (run, factors) pair it has priced. */
export class StepTimes {
  private readonly cache = new Map<string, number>();
  evaluations = 0;

  async of(run: CalibrationRun, factors: Efficiency): Promise<number> {
    const key = `${run.id}|${CALIBRATED_FACTORS.map((f) => factors[f]).join(',')}`;
    const known = this.cache.get(key);
    if (known !== undefined) return known;
    const plan = await estimate(withFactors(run.request, factors));
    const sec = plan.summary!.stepTimeSec;
    this.cache.set(key, sec);
    return sec;
  }

  async residuals(runs: readonly CalibrationRun[], factors: Efficiency): Promise<Residual[]> {
    const out: Residual[] = [];
    for (const run of runs) {
      const estimatedSec = await this.of(run, factors);
      out.push({
        run: run.id,
        measuredSec: run.measuredStepSec,
        estimatedSec,
        errorPct: ((estimatedSec - run.measuredStepSec) / run.measuredStepSec) * 100,
      });
    }
    return out;
  }

  async meanAbsErrorPct(runs: readonly CalibrationRun[], factors: Efficiency): Promise<number> {
    this.evaluations += 1;
    const residuals = await this.residuals(runs, factors);
    return meanAbs(residuals.map((r) => r.errorPct));
  }
}

export function meanAbs(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + Math.abs(v), 0) / Math.max(1, values.length);
}

/**
 * Factors minimising the mean absolute relative step-time error over `runs` (all of one GPU
 * generation), from `start`. A factor no run's time depends on keeps its start value.
 */
export async function fitFactors(
  runs: readonly CalibrationRun[],
  start: Efficiency,
  options: { readonly passes?: number; readonly times?: StepTimes } = {},
): Promise<FitResult> {
  const times = options.times ?? new StepTimes();
  const evaluationsBefore = times.evaluations;
  let factors: Efficiency = { ...start };
  let best = await times.meanAbsErrorPct(runs, factors);
  const passes = options.passes ?? 2;
  for (let pass = 0; pass < passes; pass++) {
    for (const name of CALIBRATED_FACTORS) {
      const at = factors[name];
      const lo = pass === 0 ? FACTOR_FLOOR : Math.max(FACTOR_FLOOR, at - REFINE_HALF_WIDTH);
      const hi = pass === 0 ? FACTOR_CEILING : Math.min(FACTOR_CEILING, at + REFINE_HALF_WIDTH);
      const trial = (value: number) => times.meanAbsErrorPct(runs, { ...factors, [name]: round(value) });
      const found = round(await goldenSection(trial, lo, hi, pass === 0 ? COARSE_TOLERANCE : FINE_TOLERANCE));
      const error = await trial(found);
      if (error < best - 1e-9) {
        best = error;
        factors = { ...factors, [name]: found };
      }
    }
  }
  const residuals = await times.residuals(runs, factors);
  return { factors, meanAbsErrorPct: best, residuals, evaluations: times.evaluations - evaluationsBefore };
}

/** Factors are reported to three decimals; rounding the trials keeps the cache's keys few. */
function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/** The minimiser of a unimodal `f` on [lo, hi] to within `tolerance`. */
async function goldenSection(
  f: (x: number) => Promise<number>,
  lo: number,
  hi: number,
  tolerance: number,
): Promise<number> {
  let a = lo;
  let b = hi;
  let c = b - GOLDEN * (b - a);
  let d = a + GOLDEN * (b - a);
  let fc = await f(c);
  let fd = await f(d);
  while (b - a > tolerance) {
    if (fc <= fd) {
      b = d;
      d = c;
      fd = fc;
      c = b - GOLDEN * (b - a);
      fc = await f(c);
    } else {
      a = c;
      c = d;
      fc = fd;
      d = a + GOLDEN * (b - a);
      fd = await f(d);
    }
  }
  return (a + b) / 2;
}
