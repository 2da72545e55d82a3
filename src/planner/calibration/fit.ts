/**
 * The fit of a GPU's efficiency factors to measured step times (DESIGN.md §10): the factors are
 * the only numbers calibration moves, every other figure stays the hardware's. Nelder–Mead on the
 * mean absolute relative step-time error, deterministic, within each factor's bounds.
 */
import { findGpu } from '../../cluster/catalog.ts';
import type { CalibrationProfile, Efficiency, Plan, PlanRequestInput, Residual } from '../../schema/index.ts';
import { CALIBRATED_FACTORS, Efficiency as EfficiencySchema } from '../../schema/index.ts';
import { estimate } from '../estimate.ts';

/*
 * Every factor is a share of a peak (of tensor-core FLOP/s, of HBM bandwidth, of a collective's
 * time): the search stays inside (0, 1], above a floor no tuned kernel falls under.
 */
export const FACTOR_FLOOR = 0.05;
export const FACTOR_CEILING = 1;
/** The first simplex spans this much of each factor's range around the start. */
const INITIAL_STEP = 0.1;
/** The search stops once every factor is pinned to this (0.3 % of a peak: well under 1 % of a step). */
const SIMPLEX_TOLERANCE = 0.003;
/** Each trial prices every run: the search's budget, about a minute for a generation's runs. */
const MAX_EVALUATIONS = 90;
/** Fresh simplexes after the first, each from the best point so far, while they improve on it. */
const RESTARTS = 2;

/** A factor calibration may fit. */
export type CalibratedFactor = (typeof CALIBRATED_FACTORS)[number];

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
  /** The factors the search moved: those some run's time depends on. */
  readonly fitted: readonly CalibratedFactor[];
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

/** Prices a request; estimate() here, a worker thread's in the API (its event loop stays free). */
export type Pricer = (request: PlanRequestInput) => Promise<Plan>;

/**
 * The most objective evaluations one fit can spend: the start and a probe of each factor, every
 * round of the simplex (its budget, overrun by at most one step's reflection, expansion or
 * contraction and a shrink of every other vertex), and the final reset of each factor. A fit that
 * converges stops short of it; progress is reported against it.
 */
export const FIT_EVALUATION_BUDGET =
  1 +
  CALIBRATED_FACTORS.length +
  (RESTARTS + 1) * (MAX_EVALUATIONS + CALIBRATED_FACTORS.length + 1) +
  CALIBRATED_FACTORS.length;

/** A fit's progress: the evaluations spent so far and the best mean |error| one of them reached. */
export interface FitProgress {
  readonly evaluations: number;
  readonly bestMeanAbsErrorPct: number;
}

/** Prices runs under trial factors, remembering each (run, factors) pair it has priced. */
export class StepTimes {
  private readonly cache = new Map<string, number>();
  evaluations = 0;
  private best = Number.POSITIVE_INFINITY;

  constructor(
    private readonly price: Pricer = estimate,
    private readonly onProgress?: (progress: FitProgress) => void,
  ) {}

  async of(run: CalibrationRun, factors: Efficiency): Promise<number> {
    const key = `${run.id}|${CALIBRATED_FACTORS.map((f) => factors[f]).join(',')}`;
    const known = this.cache.get(key);
    if (known !== undefined) return known;
    const plan = await this.price(withFactors(run.request, factors));
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
    const error = meanAbs(residuals.map((r) => r.errorPct));
    this.best = Math.min(this.best, error);
    this.onProgress?.({ evaluations: this.evaluations, bestMeanAbsErrorPct: this.best });
    return error;
  }
}

export function meanAbs(values: readonly number[]): number {
  return values.reduce((sum, v) => sum + Math.abs(v), 0) / Math.max(1, values.length);
}

/**
 * Factors minimising the mean absolute relative step-time error over `runs` (all of one GPU), from
 * `start`: Nelder–Mead over the factors (coordinate descent stalls on the kinks of an absolute-error
 * objective when two factors trade off), each kept within its bounds. A factor no run's time depends
 * on keeps its start value.
 */
export async function fitFactors(
  runs: readonly CalibrationRun[],
  start: Efficiency,
  options: {
    readonly maxEvaluations?: number;
    readonly times?: StepTimes;
    /** The factors to fit (default all of CALIBRATED_FACTORS); the others keep their start values. */
    readonly factors?: readonly CalibratedFactor[];
  } = {},
): Promise<FitResult> {
  const times = options.times ?? new StepTimes();
  const evaluationsBefore = times.evaluations;
  // A factor no run's time depends on (attention when every run uses eager attention) would only
  // spend the simplex's evaluations on a flat direction: probe each once and search the others.
  const startError = await times.meanAbsErrorPct(runs, start);
  const names: CalibratedFactor[] = [];
  for (const name of options.factors ?? CALIBRATED_FACTORS) {
    const moved = start[name] + (start[name] + INITIAL_STEP > FACTOR_CEILING ? -INITIAL_STEP : INITIAL_STEP);
    const movedError = await times.meanAbsErrorPct(runs, { ...start, [name]: round(moved) });
    if (Math.abs(movedError - startError) > 1e-9) names.push(name);
  }
  const toFactors = (x: readonly number[]): Efficiency => {
    const out: Efficiency = { ...start };
    names.forEach((name, i) => {
      out[name] = round(Math.min(FACTOR_CEILING, Math.max(FACTOR_FLOOR, x[i]!)));
    });
    return out;
  };
  const objective = (x: readonly number[]) => times.meanAbsErrorPct(runs, toFactors(x));
  const budget = options.maxEvaluations ?? MAX_EVALUATIONS;
  let best = { x: names.map((name) => start[name]), f: startError };
  // Restarted from its own answer while that still improves: a simplex can shrink onto a slope of an
  // absolute-error objective's kinks short of the minimum, and a fresh one steps off it.
  for (let round = 0; names.length > 0 && round < RESTARTS + 1; round++) {
    const next = await nelderMead(objective, best.x, budget);
    const improved = next.f < best.f - 1e-9;
    if (next.f <= best.f) best = next;
    if (!improved) break;
  }
  let factors = toFactors(best.x);
  let error = best.f;
  for (const name of names) {
    const reset = { ...factors, [name]: start[name] };
    const resetError = await times.meanAbsErrorPct(runs, reset);
    if (resetError <= error + 1e-9) {
      factors = reset;
      error = resetError;
    }
  }
  const residuals = await times.residuals(runs, factors);
  return {
    factors,
    meanAbsErrorPct: error,
    residuals,
    fitted: names,
    evaluations: times.evaluations - evaluationsBefore,
  };
}

/** Factors are reported to three decimals; rounding the trials keeps the cache's keys few. */
function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}

/**
 * Nelder–Mead (the standard reflection 1, expansion 2, contraction ½, shrink ½), from a simplex of
 * `x0` and one step of INITIAL_STEP along each axis; stops when the simplex is narrower than
 * SIMPLEX_TOLERANCE in every factor or after `maxEvaluations`. Deterministic.
 */
async function nelderMead(
  f: (x: readonly number[]) => Promise<number>,
  x0: readonly number[],
  maxEvaluations: number,
): Promise<{ x: number[]; f: number }> {
  const n = x0.length;
  let evaluations = 0;
  const value = async (x: number[]) => {
    evaluations += 1;
    return { x, f: await f(x) };
  };
  const simplex = [await value([...x0])];
  for (let i = 0; i < n; i++) {
    const x = [...x0];
    // Step inwards from a factor at its ceiling, so every vertex is a distinct trial.
    x[i] = x[i]! + (x[i]! + INITIAL_STEP > FACTOR_CEILING ? -INITIAL_STEP : INITIAL_STEP);
    simplex.push(await value(x));
  }
  const along = (from: readonly number[], to: readonly number[], t: number) =>
    from.map((v, i) => v + t * (to[i]! - v));
  while (evaluations < maxEvaluations) {
    simplex.sort((a, b) => a.f - b.f);
    const width = Math.max(
      ...Array.from({ length: n }, (_, i) =>
        Math.max(...simplex.map((p) => Math.abs(p.x[i]! - simplex[0]!.x[i]!))),
      ),
    );
    if (width < SIMPLEX_TOLERANCE) break;
    const worst = simplex[n]!;
    const centroid = Array.from(
      { length: n },
      (_, i) => simplex.slice(0, n).reduce((s, p) => s + p.x[i]!, 0) / n,
    );
    const reflected = await value(along(centroid, worst.x, -1));
    if (reflected.f < simplex[0]!.f) {
      const expanded = await value(along(centroid, worst.x, -2));
      simplex[n] = expanded.f < reflected.f ? expanded : reflected;
    } else if (reflected.f < simplex[n - 1]!.f) {
      simplex[n] = reflected;
    } else {
      const contracted = await value(along(centroid, worst.x, 0.5));
      if (contracted.f < worst.f) {
        simplex[n] = contracted;
      } else {
        for (let i = 1; i <= n; i++) simplex[i] = await value(along(simplex[0]!.x, simplex[i]!.x, 0.5));
      }
    }
  }
  simplex.sort((a, b) => a.f - b.f);
  return simplex[0]!;
}
