/**
 * Calibration over published runs (DESIGN.md §10): one set of factors per GPU generation, shared by
 * every source of that generation, and leave-one-source-out — fit without a source, predict it.
 */
import type { Efficiency, GpuGeneration, Residual } from '../../schema/index.ts';
import { type CalibrationRun, catalogEfficiency, type FitResult, fitFactors, StepTimes } from './fit.ts';

export interface LabelledRun extends CalibrationRun {
  readonly generation: GpuGeneration;
  /** The source family (paper, repository, report) the run was published in. */
  readonly family: string;
}

export type FactorsByGeneration = Partial<Record<GpuGeneration, Efficiency>>;

/** Which data a generation's factors came from, so a report can say how far to trust them. */
export type FactorOrigin = 'own-generation' | 'other-generations';

export interface GenerationFit {
  readonly factors: Efficiency;
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
      fit = fitFactors(runs, start, { times: this.times });
      this.fits.set(key, fit);
    }
    return fit;
  }

  /**
   * Factors for every generation in `wanted`, fitted on `training`'s runs of that generation. A
   * generation none of them covers gets one set fitted on all of `training` together: the best a
   * fit that never saw the generation can say (never the catalog's, which may have seen it).
   */
  async byGeneration(
    training: readonly LabelledRun[],
    wanted: readonly LabelledRun[],
    onProgress: (message: string) => void = () => {},
  ): Promise<Map<GpuGeneration, GenerationFit>> {
    const out = new Map<GpuGeneration, GenerationFit>();
    const generations = [...new Set(wanted.map((r) => r.generation))].sort();
    for (const generation of generations) {
      const own = training.filter((r) => r.generation === generation);
      const start = catalogEfficiency(wanted.find((r) => r.generation === generation)!.request);
      const runs = own.length > 0 ? own : training;
      const fit = await this.fit(runs, start);
      onProgress(
        `  ${generation}: ${runs.length} runs, ${JSON.stringify(fit.factors)}, ${fit.meanAbsErrorPct.toFixed(1)}%`,
      );
      out.set(generation, {
        factors: fit.factors,
        origin: own.length > 0 ? 'own-generation' : 'other-generations',
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

export interface CalibrationReport {
  /** Factors fitted on every run, per generation. */
  readonly inSample: Map<GpuGeneration, GenerationFit>;
  readonly inSampleResiduals: readonly Residual[];
  /** Per run: its error when its whole source family was left out of the fit. */
  readonly leaveOneSourceOut: readonly Residual[];
  /** Per held-out family: the factors it was predicted with. */
  readonly heldOutFits: ReadonlyMap<string, Map<GpuGeneration, GenerationFit>>;
}

/** The in-sample fit and leave-one-source-out over labelled runs. */
export async function calibrate(
  runs: readonly LabelledRun[],
  onProgress: (message: string) => void = () => {},
): Promise<CalibrationReport> {
  const calibrator = new Calibrator();
  const inSample = await calibrator.byGeneration(runs, runs, onProgress);
  const inSampleResiduals = await calibrator.predict(runs, inSample);
  onProgress(`in-sample fit: ${calibrator.times.evaluations} evaluations`);
  const loso = new Map<string, Residual>();
  const heldOutFits = new Map<string, Map<GpuGeneration, GenerationFit>>();
  for (const family of [...new Set(runs.map((r) => r.family))]) {
    const held = runs.filter((r) => r.family === family);
    const training = runs.filter((r) => r.family !== family);
    const fits = await calibrator.byGeneration(training, held, onProgress);
    heldOutFits.set(family, fits);
    for (const residual of await calibrator.predict(held, fits)) loso.set(residual.run, residual);
    onProgress(`without ${family}: ${calibrator.times.evaluations} evaluations`);
  }
  return {
    inSample,
    inSampleResiduals,
    leaveOneSourceOut: runs.map((r) => loso.get(r.id)!),
    heldOutFits,
  };
}
