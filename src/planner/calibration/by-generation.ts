/**
 * Calibration over published runs (DESIGN.md §10): one set of factors per GPU generation, shared by
 * every source of that generation, and leave-one-source-out — fit without a source, predict it.
 */
import { ACHIEVABLE_MATMUL_SHARE } from '../../cluster/gpus/common.ts';
import type { Efficiency, GpuGeneration, Residual } from '../../schema/index.ts';
import {
  type CalibratedFactor,
  type CalibrationRun,
  catalogEfficiency,
  type FitResult,
  fitFactors,
  StepTimes,
} from './fit.ts';

export interface LabelledRun extends CalibrationRun {
  readonly generation: GpuGeneration;
  /** The source family (paper, repository, report) the run was published in. */
  readonly family: string;
}

export type FactorsByGeneration = Partial<Record<GpuGeneration, Efficiency>>;

/** Whose runs a generation's factors were fitted on, so a report can say how far to trust them. */
export type FactorOrigin = GpuGeneration | 'all-generations';

/**
 * Where a generation with too few runs of its own borrows its factors: the generations nearest in
 * time first, whose kernels (cuBLAS/CUTLASS, FlashAttention, Transformer Engine) and NCCL are closest.
 */
const NEIGHBOURS: Readonly<Record<GpuGeneration, readonly GpuGeneration[]>> = {
  volta: ['ampere', 'hopper'],
  ampere: ['hopper', 'volta', 'blackwell'],
  hopper: ['blackwell', 'ampere'],
  blackwell: ['hopper', 'ampere'],
  cdna3: ['hopper', 'ampere'],
};

/**
 * What the published runs fit: the GEMM and attention kernels' shares of the tensor-core peak. The
 * memory-bound kernels' share of HBM bandwidth stays at its catalog value (0.8; sustained copies
 * reach about 0.9 of nominal HBM bandwidth on A100 and H100, and the kernels priced also pay launch
 * and tail): these runs hardly identify it — left free, their leave-one-source-out fits put it
 * anywhere from 0.32 to 1.0, trading it against matmul, and the held-out errors followed. A user's
 * calibration (user-profile.ts), on one cluster's runs, fits all of CALIBRATED_FACTORS.
 */
export const PUBLISHED_FIT_FACTORS = ['matmul', 'attention'] as const satisfies readonly CalibratedFactor[];

/**
 * Fewer runs than factors leave a fit free to trade one factor against another, and as many fit them
 * exactly with no residual to show it: a generation needs one run more than it has factors, or borrows.
 */
const MIN_RUNS = PUBLISHED_FIT_FACTORS.length + 1;

/**
 * The factors `borrower` takes from `lender`'s fit: the same, but for matmul, scaled by how close each
 * generation's best GEMM comes to its peak (ACHIEVABLE_MATMUL_SHARE, published microbenchmarks, never
 * these runs). Fitted on A100 runs, Ampere's matmul is 0.743; Hopper's 0.68 scaled so gives 0.736.
 * Unchanged where either generation has no published figure.
 */
export function borrowedFactors(
  factors: Efficiency,
  lender: GpuGeneration,
  borrower: GpuGeneration,
): Efficiency {
  const from = ACHIEVABLE_MATMUL_SHARE[lender];
  const to = ACHIEVABLE_MATMUL_SHARE[borrower];
  if (lender === borrower || from === undefined || to === undefined) return factors;
  return { ...factors, matmul: Math.round(((factors.matmul * to) / from) * 1000) / 1000 };
}

export interface GenerationFit {
  readonly factors: Efficiency;
  /** The generation whose runs were fitted (its own, or a neighbour's), or all of them. */
  readonly origin: FactorOrigin;
  readonly runs: number;
  readonly meanAbsErrorPct: number;
}

/**
 * Fits memoised by the runs they were fitted on: leave-one-source-out refits only the generations
 * the held-out source has runs in; the others' fits are the in-sample ones.
 */
export class Calibrator {
  private readonly fits = new Map<string, Promise<FitResult>>();
  readonly times = new StepTimes();

  fit(runs: readonly LabelledRun[], start: Efficiency): Promise<FitResult> {
    const key = runs
      .map((r) => r.id)
      .sort()
      .join('\n');
    let fit = this.fits.get(key);
    if (fit === undefined) {
      fit = fitFactors(runs, start, { times: this.times, factors: PUBLISHED_FIT_FACTORS });
      this.fits.set(key, fit);
    }
    return fit;
  }

  /**
   * Factors for every generation in `wanted`, fitted on `training`'s runs of that generation. A
   * generation with fewer runs than factors there borrows the fit of its nearest generation that has
   * enough (`borrowedFactors`), else of all of `training` together: the best a fit that never saw the generation can
   * say (never the catalog's values, which may have been fitted on the very runs held out). `alsoFor`
   * adds generations no wanted run has (the catalog's, which need factors all the same).
   */
  async byGeneration(
    training: readonly LabelledRun[],
    wanted: readonly LabelledRun[],
    onProgress: (message: string) => void = () => {},
    alsoFor: readonly GpuGeneration[] = [],
  ): Promise<Map<GpuGeneration, GenerationFit>> {
    const out = new Map<GpuGeneration, GenerationFit>();
    const generations = [...new Set([...wanted.map((r) => r.generation), ...alsoFor])].sort();
    for (const generation of generations) {
      const of = (g: GpuGeneration) => training.filter((r) => r.generation === g);
      const origin: FactorOrigin =
        [generation, ...NEIGHBOURS[generation]].find((g) => of(g).length >= MIN_RUNS) ?? 'all-generations';
      const runs = origin === 'all-generations' ? training : of(origin);
      // A borrowed fit starts where the lender's own does, so the lender's fit is reused as it is.
      const starter = runs[0] ?? wanted.find((r) => r.generation === generation);
      if (starter === undefined) throw new Error(`no run to fit ${generation}'s factors on`);
      const fit = await this.fit(runs, catalogEfficiency(starter.request));
      const factors =
        origin === 'all-generations' ? fit.factors : borrowedFactors(fit.factors, origin, generation);
      onProgress(
        `  ${generation}: from ${origin} (${runs.length} runs), ${JSON.stringify(factors)}, ${fit.meanAbsErrorPct.toFixed(1)}%`,
      );
      out.set(generation, {
        factors,
        origin,
        runs: runs.length,
        meanAbsErrorPct: fit.meanAbsErrorPct,
      });
    }
    return out;
  }

  /** Each run's residual under its generation's factors. */
  async predict(runs: readonly LabelledRun[], fits: Map<GpuGeneration, GenerationFit>): Promise<Residual[]> {
    const out: Residual[] = [];
    for (const run of runs) {
      const fit = fits.get(run.generation);
      if (fit === undefined) throw new Error(`no factors for ${run.generation}`);
      out.push(...(await this.times.residuals([run], fit.factors)));
    }
    return out;
  }
}

/** One source family held out: the factors fitted without it, and its runs' errors under them. */
export interface HeldOut {
  readonly family: string;
  readonly fits: Map<GpuGeneration, GenerationFit>;
  readonly residuals: readonly Residual[];
}

/** Leave-one-source-out for one family: fit on every other family's runs, predict this one's. */
export async function holdOut(
  calibrator: Calibrator,
  runs: readonly LabelledRun[],
  family: string,
  onProgress: (message: string) => void = () => {},
): Promise<HeldOut> {
  const held = runs.filter((r) => r.family === family);
  const training = runs.filter((r) => r.family !== family);
  const fits = await calibrator.byGeneration(training, held, onProgress);
  return { family, fits, residuals: await calibrator.predict(held, fits) };
}
