/**
 * `npm run bench -- check FILE [FILE …]`: published runs that calibrated nothing, priced with the
 * catalog's committed factors (src/cluster/gpus/), as DESIGN.md §10 checks fidelity on measurements
 * kept out of the fit. Each file is a JSON array of records in either reference format
 * (../shared/reference/published-runs.json or published-runs-modern.json); facts a record does not
 * carry are read from its own fields the way the reference sets' are (bench/reference-runs.ts).
 * Writes bench/results/check.json and check.md, and prints the summary.
 */
import { basename } from 'node:path';
import { GiB } from '../src/cluster/gpus/common.ts';
import { estimate } from '../src/planner/estimate.ts';
import { abs, configOf, mean, measuredMemoryNote, signedPct, zeroPairs } from './fidelity.ts';
import { type ReferenceRun, type RefusedRecord, readRunsFile, refusalOf } from './reference-runs.ts';
import { writeResults, writeText } from './results-io.ts';

interface CheckRow {
  readonly run: string;
  readonly file: string;
  readonly family: string;
  /** Whether the model routes tokens to experts: the two kinds err apart (see README, Fidelity). */
  readonly architecture: Architecture;
  readonly config: string;
  readonly published: string;
  readonly measuredStepSec: number;
  readonly estimatedStepSec: number;
  readonly errorPct: number;
  /** The era its source belongs to, as issue 14's targets split them (`eraOf`). */
  readonly era: Era;
  readonly peakMemoryGiB: number;
  /** The peak the record measured, where it gives one (GiB). */
  readonly measuredPeakMemoryGiB: number | null;
  readonly fits: boolean;
  /**
   * Whether the predicted peak exceeds the GPU's whole memory, not only the share of it the planner
   * plans into (`options.memoryHeadroom`, 0.9 by default, kept for the allocator and CUDA context).
   */
  readonly overGpuMemory: boolean;
}

/** A model's kind for the summary: a hybrid Mamba stack (whatever its MLPs), else dense or MoE blocks. */
type Architecture = 'dense' | 'moe' | 'hybrid';

/** How check.md's table names each kind. */
const ARCHITECTURE_LABELS: Record<Architecture, string> = {
  dense: 'dense',
  moe: 'mixture of experts',
  hybrid: 'hybrid (Mamba)',
};

/**
 * The two eras the fidelity targets are set for: the A100-and-before papers and repositories (to
 * 2022: Megatron-LM's, SC'21, Korthikanti et al., MT-NLG; ≤ 8%) and today's stacks (2023 on: FP8,
 * context and expert parallelism, FSDP2; ≤ 12%). A record that gives no year counts as recent.
 */
type Era = 'older' | 'recent';

function eraOf(run: ReferenceRun): Era {
  return run.year !== null && run.year <= 2022 ? 'older' : 'recent';
}

function architectureOf(run: ReferenceRun): Architecture {
  const { model } = run.request;
  if (model.kind !== 'transformer') return 'dense';
  if (model.hybridPattern !== undefined) return 'hybrid';
  return model.moe !== undefined ? 'moe' : 'dense';
}

/** Mean and largest absolute error of the rows sharing each value of `key`, in order of first appearance. */
function errorsBy<K extends string>(rows: readonly CheckRow[], key: (row: CheckRow) => K) {
  return [...new Set(rows.map(key))].map((value) => {
    const of = abs(rows.filter((r) => key(r) === value).map((r) => r.errorPct));
    return { value, runs: of.length, meanAbsErrorPct: mean(of), maxAbsErrorPct: Math.max(...of) };
  });
}

/**
 * Prices every record of the files; a record that cannot be read, or whose configuration meshplan
 * cannot express (a 4xx), is listed under `summary.notPriced` with its reason and the rest go on.
 */
export async function checkRuns(files: readonly string[]) {
  const read: (ReferenceRun & { file: string })[] = [];
  // Records that cannot be read, or whose configuration meshplan cannot express, are reported, not fatal.
  const refused: (RefusedRecord & { file: string })[] = [];
  for (const file of files) {
    let settled: Awaited<ReturnType<typeof readRunsFile>>;
    try {
      settled = await readRunsFile(file);
    } catch (error) {
      // A file that cannot be read as records is reported like a record that cannot; the others go on.
      refused.push({ id: '(file)', file: basename(file), reason: refusalOf(error) });
      continue;
    }
    for (const run of settled.runs) read.push({ ...run, file: basename(file) });
    for (const record of settled.refused) refused.push({ ...record, file: basename(file) });
  }
  const runs: (ReferenceRun & { file: string })[] = [];
  const rows: CheckRow[] = [];
  const estimated = new Map<string, number>();
  for (const run of read) {
    let answer: Awaited<ReturnType<typeof estimate>>;
    try {
      answer = await estimate(run.request);
    } catch (error) {
      refused.push({ id: run.id, file: run.file, reason: refusalOf(error) });
      continue;
    }
    runs.push(run);
    const s = answer.summary!;
    estimated.set(run.id, s.stepTimeSec);
    rows.push({
      run: run.id,
      file: run.file,
      family: run.family,
      architecture: architectureOf(run),
      config: configOf(s, run.request.training.precision ?? 'bf16'),
      published: run.published,
      measuredStepSec: run.measuredStepSec,
      estimatedStepSec: s.stepTimeSec,
      errorPct: (100 * (s.stepTimeSec - run.measuredStepSec)) / run.measuredStepSec,
      era: eraOf(run),
      peakMemoryGiB: s.peakMemoryBytes / GiB,
      measuredPeakMemoryGiB: run.peakMemoryGiB,
      fits: answer.status === 'optimal',
      overGpuMemory: s.peakMemoryBytes > answer.stages![0]!.memory.capacityBytes,
    });
  }
  const errors = abs(rows.map((r) => r.errorPct));
  const pairs = zeroPairs(runs, estimated);
  const summary = {
    runs: rows.length,
    meanAbsErrorPct: mean(errors),
    maxAbsErrorPct: Math.max(...errors),
    over15Pct: rows.filter((r) => Math.abs(r.errorPct) > 15).map((r) => r.run),
    predictedNotToFit: rows.filter((r) => !r.fits).map((r) => r.run),
    predictedOverGpuMemory: rows.filter((r) => r.overGpuMemory).map((r) => r.run),
    notPriced: refused,
    zero3VsThreeDPairs: pairs,
  };
  const families = errorsBy(rows, (r) => r.family).map(({ value, ...errors }) => ({
    family: value,
    ...errors,
  }));
  const architectures = errorsBy(rows, (r) => r.architecture).map(({ value, ...errors }) => ({
    architecture: value,
    ...errors,
  }));
  const eras = errorsBy(rows, (r) => r.era).map(({ value, ...errors }) => ({ era: value, ...errors }));
  return { files: files.map((f) => basename(f)), summary, families, architectures, eras, rows };
}

export async function runCheck(files: readonly string[]): Promise<void> {
  if (files.length === 0) {
    process.stderr.write(
      'usage: npm run bench -- check FILE [FILE …] (JSON arrays of published-run records)\n',
    );
    process.exit(2);
  }
  const checked = await checkRuns(files);
  const { summary, families, architectures, eras, rows } = checked;
  const pairs = summary.zero3VsThreeDPairs;
  const refused = summary.notPriced;
  writeResults('check', checked);
  const text = [
    '| run | file | family | configuration | published | measured s | estimated s | error | memory GiB | fits |',
    '|---|---|---|---|---|---:|---:|---:|---:|---|',
    ...rows.map(
      (r) =>
        `| ${r.run} | ${r.file} | ${r.family} | ${r.config} | ${r.published} | ${r.measuredStepSec.toFixed(3)} | ${r.estimatedStepSec.toFixed(3)} | ${signedPct(r.errorPct)} | ${r.peakMemoryGiB.toFixed(1)}${measuredMemoryNote(r.measuredPeakMemoryGiB)} | ${r.fits ? 'yes' : '**no**'} |`,
    ),
    '',
    '| family | runs | mean abs. error | max |',
    '|---|---:|---:|---:|',
    ...families.map(
      (f) =>
        `| ${f.family} | ${f.runs} | ${f.meanAbsErrorPct.toFixed(1)}% | ${f.maxAbsErrorPct.toFixed(1)}% |`,
    ),
    '',
    '| architecture | runs | mean abs. error | max |',
    '|---|---:|---:|---:|',
    ...architectures.map(
      (a) =>
        `| ${ARCHITECTURE_LABELS[a.architecture]} | ${a.runs} | ${a.meanAbsErrorPct.toFixed(1)}% | ${a.maxAbsErrorPct.toFixed(1)}% |`,
    ),
    '',
    '| era | runs | mean abs. error | max | target |',
    '|---|---:|---:|---:|---:|',
    ...eras.map(
      (e) =>
        `| ${e.era === 'older' ? 'older (to 2022)' : 'recent (2023 on)'} | ${e.runs} | ${e.meanAbsErrorPct.toFixed(1)}% | ${e.maxAbsErrorPct.toFixed(1)}% | ${e.era === 'older' ? '≤ 8%' : '≤ 12%'} |`,
    ),
    '',
    summary.runs === 0
      ? 'No record priced.'
      : `Mean absolute step-time error ${summary.meanAbsErrorPct.toFixed(1)}% (max ${summary.maxAbsErrorPct.toFixed(1)}%) over ${summary.runs} runs, with the catalog's committed factors; over 15%: ${summary.over15Pct.length === 0 ? 'none' : summary.over15Pct.join(', ')}.`,
    `Predicted not to fit: ${summary.predictedNotToFit.length === 0 ? 'none' : `${summary.predictedNotToFit.join(', ')} (over the GPU's whole memory, not only the planner's headroom: ${summary.predictedOverGpuMemory.length === 0 ? 'none' : summary.predictedOverGpuMemory.join(', ')})`}.`,
    pairs.length === 0
      ? 'ZeRO-3 vs 3-D: no pair of the same model on the same GPUs.'
      : `ZeRO-3 vs 3-D ranked as published: ${pairs.filter((p) => p.rankedAsPublished).length} of ${pairs.length} pairs.`,
    refused.length === 0
      ? 'Every record priced.'
      : `Not priced: ${refused.map((r) => `${r.id} (${r.file}: ${r.reason})`).join('; ')}.`,
    '',
  ].join('\n');
  writeText('check.md', text);
  process.stdout.write(`${text.split('\n').slice(-6).join('\n')}\n`);
}
