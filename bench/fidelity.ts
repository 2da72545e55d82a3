import { execFile } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ACHIEVABLE_MATMUL_SHARE, GiB } from '../src/cluster/gpus/common.ts';
import { Calibrator, type GenerationFit, type HeldOut } from '../src/planner/calibration/by-generation.ts';
import { withFactors } from '../src/planner/calibration/fit.ts';
import { estimate } from '../src/planner/estimate.ts';
import { plan } from '../src/planner/plan.ts';
import type { Efficiency, GpuGeneration, Plan, PlanRequestInput, Residual } from '../src/schema/index.ts';
import { formatZero } from '../src/view/format.ts';
import { loadReferenceRuns, type ReferenceRun } from './reference-runs.ts';
import { writeResults, writeText } from './results-io.ts';

const LOSO_SCRIPT = fileURLToPath(new URL('./loso-family.ts', import.meta.url));
const TSX = fileURLToPath(new URL('../node_modules/.bin/tsx', import.meta.url));

/**
 * Leave-one-source-out, one process per held-out family, FIDELITY_JOBS at once (default: the CPUs):
 * each fit prices every training run some 70 times, and the families are independent.
 */
async function leaveOneSourceOut(families: readonly string[]): Promise<HeldOut[]> {
  const jobs = Math.max(1, Number(process.env.FIDELITY_JOBS) || availableParallelism());
  const run = promisify(execFile);
  const queue = [...families];
  const out: HeldOut[] = [];
  const worker = async () => {
    for (let family = queue.shift(); family !== undefined; family = queue.shift()) {
      const { stdout } = await run(TSX, [LOSO_SCRIPT, family], { maxBuffer: 2 ** 26 });
      const parsed = JSON.parse(stdout) as {
        family: string;
        fits: [GpuGeneration, GenerationFit][];
        residuals: Residual[];
      };
      out.push({ ...parsed, fits: new Map(parsed.fits) });
      process.stderr.write(`without ${family}: done\n`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(jobs, families.length) }, worker));
  return out;
}
const PLANNER_LIMIT_SEC = 20;

export function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
}

/** A run's measured peak memory for a table cell beside meshplan's, or nothing where none was measured. */
export function measuredMemoryNote(gib: number | null): string {
  return gib === null ? '' : ` measured ${gib}`;
}

/** A signed error in percent, one decimal: +4.6%, −2.6%. */
export function signedPct(value: number): string {
  return `${value >= 0 ? '+' : ''}${value.toFixed(1)}%`;
}

export function abs(values: readonly number[]): number[] {
  return values.map((v) => Math.abs(v));
}

export function configOf(s: NonNullable<Plan['summary']>, precision: string): string {
  const parts = [`tp${s.tp}`, `pp${s.pp}`, `dp${s.dp}`];
  if (s.cp > 1) parts.push(`cp${s.cp}`);
  if (s.ep > 1) parts.push(`ep${s.ep} etp${s.etp}`);
  parts.push(`mb${s.microBatch}`);
  if (s.virtualStages > 1) parts.push(`vp${s.virtualStages}`);
  parts.push(`rc=${s.recompute}`, `zero${formatZero(s)}`, precision);
  return parts.join(' ');
}

/** The planner's own choice for the run's model, cluster and batch, keeping its implementation flags. */
async function plannerChoice(request: PlanRequestInput): Promise<Plan> {
  const { parallel, options, ...free } = request;
  return plan({
    ...free,
    // Bounded so the bench stays minutes long; the answer says whether the search finished.
    options: { ...options, timeLimitSec: PLANNER_LIMIT_SEC },
    parallel: {
      ...(parallel?.overlapGradReduce !== undefined ? { overlapGradReduce: parallel.overlapGradReduce } : {}),
      ...(parallel?.overlapTensorParallelComm !== undefined
        ? { overlapTensorParallelComm: parallel.overlapTensorParallelComm }
        : {}),
      ...(parallel?.overlapInputGradientReduce !== undefined
        ? { overlapInputGradientReduce: parallel.overlapInputGradientReduce }
        : {}),
    },
  });
}

/**
 * ZeRO-3 (FSDP) against 3-D parallelism: pairs of runs of the same model shape on the same GPU,
 * one sharded with ZeRO-3 and one not, and whether the estimates order them as the measurements do.
 */
export function zeroPairs(runs: readonly ReferenceRun[], estimated: ReadonlyMap<string, number>) {
  const shape = (r: ReferenceRun) => {
    const m = r.request.model;
    const c = r.request.cluster;
    return m.kind === 'transformer'
      ? `${m.layers}/${m.hidden}/${m.seqLen}/${typeof c.gpu === 'string' ? c.gpu : c.gpu.name}/${c.nodes * c.gpusPerNode}`
      : r.id;
  };
  const pairs = [];
  for (const a of runs) {
    if (a.request.parallel?.zero !== 3) continue;
    for (const b of runs) {
      if (b.request.parallel?.zero === 3 || shape(a) !== shape(b)) continue;
      const perToken = (r: ReferenceRun, sec: number) => sec / r.request.training.globalBatch;
      const measuredZero3Faster = perToken(a, a.measuredStepSec) < perToken(b, b.measuredStepSec);
      const estimatedZero3Faster = perToken(a, estimated.get(a.id)!) < perToken(b, estimated.get(b.id)!);
      pairs.push({
        zero3: a.id,
        threeD: b.id,
        rankedAsPublished: measuredZero3Faster === estimatedZero3Faster,
      });
    }
  }
  return pairs;
}

interface FidelityRow {
  readonly run: string;
  readonly family: string;
  readonly generation: GpuGeneration;
  readonly config: string;
  readonly published: string;
  readonly measuredStepSec: number;
  readonly estimatedStepSec: number;
  readonly measuredModelTflops: number;
  readonly estimatedModelTflops: number;
  readonly inSampleErrorPct: number;
  readonly losoErrorPct: number;
  readonly peakMemoryGiB: number;
  readonly usableMemoryGiB: number;
  readonly measuredPeakMemoryGiB: number | null;
  readonly fits: boolean;
  readonly plannerChoice: string;
  readonly plannerSpeedup: number | null;
}

/** How a borrowed fit was carried over (calibration/by-generation.ts `borrowedFactors`), for the report. */
function borrowedNote(generation: GpuGeneration, fit: GenerationFit): string {
  if (fit.origin === generation || fit.origin === 'all-generations') return '';
  const scaled =
    ACHIEVABLE_MATMUL_SHARE[fit.origin] !== undefined && ACHIEVABLE_MATMUL_SHARE[generation] !== undefined;
  return scaled
    ? `, matmul scaled by the published GEMM shares of ${fit.origin} and ${generation}`
    : `, unscaled (no published GEMM share for ${generation})`;
}

function factorsTable(fits: Map<GpuGeneration, GenerationFit>): string[] {
  return [...fits].map(
    ([generation, fit]) =>
      `- ${generation}: ${JSON.stringify(fit.factors)} (fitted on ${fit.runs} ${fit.origin} runs${borrowedNote(generation, fit)}, mean |error| ${fit.meanAbsErrorPct.toFixed(1)}%)`,
  );
}

/**
 * Every run of both reference sets priced with factors fitted per GPU generation: in-sample error,
 * leave-one-source-out error (its whole source family held out of the fit), memory against capacity,
 * and the planner's own choice for the same model, cluster and batch.
 */
export async function runFidelity(): Promise<void> {
  const started = Date.now();
  const runs = await loadReferenceRuns();
  const families = [...new Set(runs.map((r) => r.family))];
  const calibrator = new Calibrator();
  const [inSample, heldOut] = await Promise.all([
    calibrator.byGeneration(runs, runs, (m) => process.stderr.write(`[in-sample] ${m}\n`)),
    leaveOneSourceOut(families),
  ]);
  const inSampleResiduals = await calibrator.predict(runs, inSample);
  const loso = new Map(heldOut.flatMap((h) => h.residuals.map((r) => [r.run, r] as const)));
  const report = { inSample, inSampleResiduals, leaveOneSourceOut: runs.map((r) => loso.get(r.id)!) };
  const factorsOf = (r: ReferenceRun): Efficiency => report.inSample.get(r.generation)!.factors;
  const estimatedSec = new Map(report.inSampleResiduals.map((r) => [r.run, r.estimatedSec]));
  const rows: FidelityRow[] = [];
  for (const [i, run] of runs.entries()) {
    const request = withFactors(run.request, factorsOf(run));
    const published = await estimate(request);
    const s = published.summary!;
    const planned = await plannerChoice(request);
    const p = planned.summary;
    const capacityBytes =
      published.stages[0]!.memory.capacityBytes * (run.request.options?.memoryHeadroom ?? 0.9);
    const measuredTflops = (s.tflopsPerDevice * s.stepTimeSec) / run.measuredStepSec;
    rows.push({
      run: run.id,
      family: run.family,
      generation: run.generation,
      config: configOf(s, run.request.training.precision ?? 'bf16'),
      published: run.published,
      measuredStepSec: run.measuredStepSec,
      estimatedStepSec: s.stepTimeSec,
      measuredModelTflops: measuredTflops,
      estimatedModelTflops: s.tflopsPerDevice,
      inSampleErrorPct: report.inSampleResiduals[i]!.errorPct,
      losoErrorPct: report.leaveOneSourceOut[i]!.errorPct,
      peakMemoryGiB: s.peakMemoryBytes / GiB,
      usableMemoryGiB: capacityBytes / GiB,
      measuredPeakMemoryGiB: run.peakMemoryGiB,
      fits: published.status === 'optimal',
      plannerChoice: p === null ? planned.status : configOf(p, run.request.training.precision ?? 'bf16'),
      plannerSpeedup: p === null ? null : s.stepTimeSec / p.stepTimeSec,
    });
    process.stderr.write(`${run.id}\n`);
  }
  const familyRows = families.map((family) => {
    const of = rows.filter((r) => r.family === family);
    return {
      family,
      runs: of.length,
      inSampleMeanAbsErrorPct: mean(abs(of.map((r) => r.inSampleErrorPct))),
      losoMeanAbsErrorPct: mean(abs(of.map((r) => r.losoErrorPct))),
      losoMaxAbsErrorPct: Math.max(...abs(of.map((r) => r.losoErrorPct))),
    };
  });
  const pairs = zeroPairs(runs, estimatedSec);
  const summary = {
    runs: rows.length,
    inSampleMeanAbsErrorPct: mean(abs(rows.map((r) => r.inSampleErrorPct))),
    inSampleMaxAbsErrorPct: Math.max(...abs(rows.map((r) => r.inSampleErrorPct))),
    losoMeanAbsErrorPct: mean(abs(rows.map((r) => r.losoErrorPct))),
    losoMaxAbsErrorPct: Math.max(...abs(rows.map((r) => r.losoErrorPct))),
    noPublishedRunPredictedNotToFit: rows.every((r) => r.fits),
    predictedNotToFit: rows.filter((r) => !r.fits).map((r) => r.run),
    zero3VsThreeDPairs: pairs,
    plannerNeverWorse: rows.every((r) => r.plannerSpeedup !== null && r.plannerSpeedup >= 1 - 1e-9),
    wallSec: (Date.now() - started) / 1000,
  };
  const fitted = Object.fromEntries(report.inSample);
  const heldOutFactors = Object.fromEntries(heldOut.map((h) => [h.family, Object.fromEntries(h.fits)]));
  writeResults('fidelity', { summary, factors: fitted, heldOutFactors, families: familyRows, rows });
  const table = [
    '| run | family | configuration | published | measured s | estimated s | TFLOP/s meas / est | in-sample | LOSO | memory GiB (usable) | fits | planner’s choice | planner vs published |',
    '|---|---|---|---|---:|---:|---:|---:|---:|---:|---|---|---:|',
    ...rows.map(
      (r) =>
        `| ${r.run} | ${r.family} | ${r.config} | ${r.published} | ${r.measuredStepSec.toFixed(3)} | ${r.estimatedStepSec.toFixed(3)} | ${r.measuredModelTflops.toFixed(0)} / ${r.estimatedModelTflops.toFixed(0)} | ${signedPct(r.inSampleErrorPct)} | ${signedPct(r.losoErrorPct)} | ${r.peakMemoryGiB.toFixed(1)} (${r.usableMemoryGiB.toFixed(1)})${measuredMemoryNote(r.measuredPeakMemoryGiB)} | ${r.fits ? 'yes' : '**no**'} | ${r.plannerChoice} | ${r.plannerSpeedup === null ? '—' : `${r.plannerSpeedup.toFixed(2)}×`} |`,
    ),
    '',
    '| family | runs | in-sample mean |error| | LOSO mean | LOSO max |',
    '|---|---:|---:|---:|---:|',
    ...familyRows.map(
      (f) =>
        `| ${f.family} | ${f.runs} | ${f.inSampleMeanAbsErrorPct.toFixed(1)}% | ${f.losoMeanAbsErrorPct.toFixed(1)}% | ${f.losoMaxAbsErrorPct.toFixed(1)}% |`,
    ),
    '',
    `In-sample mean absolute step-time error ${summary.inSampleMeanAbsErrorPct.toFixed(1)}% (max ${summary.inSampleMaxAbsErrorPct.toFixed(1)}%); leave-one-source-out ${summary.losoMeanAbsErrorPct.toFixed(1)}% (max ${summary.losoMaxAbsErrorPct.toFixed(1)}%) over ${summary.runs} runs.`,
    `No published run predicted not to fit: ${summary.noPublishedRunPredictedNotToFit}${summary.predictedNotToFit.length > 0 ? ` (not fitting: ${summary.predictedNotToFit.join(', ')})` : ''}.`,
    pairs.length === 0
      ? 'ZeRO-3 vs 3-D ranked as published: no pair of the same model on the same GPUs in the public sets.'
      : `ZeRO-3 vs 3-D ranked as published: ${pairs.filter((p) => p.rankedAsPublished).length} of ${pairs.length} pairs.`,
    `Planner never worse than the published configuration: ${summary.plannerNeverWorse}.`,
    '',
    'Fitted factors (in-sample, per generation):',
    ...factorsTable(report.inSample),
    '',
  ].join('\n');
  writeText('fidelity.md', table);
  process.stdout.write(`${table}\n`);
}
