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
import { abs, configOf, mean, signedPct, zeroPairs } from './fidelity.ts';
import { loadRunsFile, type ReferenceRun } from './reference-runs.ts';
import { writeResults, writeText } from './results-io.ts';

interface CheckRow {
  readonly run: string;
  readonly file: string;
  readonly family: string;
  readonly config: string;
  readonly published: string;
  readonly measuredStepSec: number;
  readonly estimatedStepSec: number;
  readonly errorPct: number;
  readonly peakMemoryGiB: number;
  readonly fits: boolean;
}

export async function runCheck(files: readonly string[]): Promise<void> {
  if (files.length === 0) {
    process.stderr.write(
      'usage: npm run bench -- check FILE [FILE …] (JSON arrays of published-run records)\n',
    );
    process.exit(2);
  }
  const runs: (ReferenceRun & { file: string })[] = [];
  for (const file of files) {
    for (const run of await loadRunsFile(file)) runs.push({ ...run, file: basename(file) });
  }
  const rows: CheckRow[] = [];
  const estimated = new Map<string, number>();
  for (const run of runs) {
    const answer = await estimate(run.request);
    const s = answer.summary!;
    estimated.set(run.id, s.stepTimeSec);
    rows.push({
      run: run.id,
      file: run.file,
      family: run.family,
      config: configOf(s, run.request.training.precision ?? 'bf16'),
      published: run.published,
      measuredStepSec: run.measuredStepSec,
      estimatedStepSec: s.stepTimeSec,
      errorPct: (100 * (s.stepTimeSec - run.measuredStepSec)) / run.measuredStepSec,
      peakMemoryGiB: s.peakMemoryBytes / GiB,
      fits: answer.status === 'optimal',
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
    zero3VsThreeDPairs: pairs,
  };
  const families = [...new Set(rows.map((r) => r.family))].map((family) => {
    const of = abs(rows.filter((r) => r.family === family).map((r) => r.errorPct));
    return { family, runs: of.length, meanAbsErrorPct: mean(of), maxAbsErrorPct: Math.max(...of) };
  });
  writeResults('check', { files: files.map((f) => basename(f)), summary, families, rows });
  const text = [
    '| run | file | family | configuration | published | measured s | estimated s | error | memory GiB | fits |',
    '|---|---|---|---|---|---:|---:|---:|---:|---|',
    ...rows.map(
      (r) =>
        `| ${r.run} | ${r.file} | ${r.family} | ${r.config} | ${r.published} | ${r.measuredStepSec.toFixed(3)} | ${r.estimatedStepSec.toFixed(3)} | ${signedPct(r.errorPct)} | ${r.peakMemoryGiB.toFixed(1)} | ${r.fits ? 'yes' : '**no**'} |`,
    ),
    '',
    '| family | runs | mean abs. error | max |',
    '|---|---:|---:|---:|',
    ...families.map(
      (f) =>
        `| ${f.family} | ${f.runs} | ${f.meanAbsErrorPct.toFixed(1)}% | ${f.maxAbsErrorPct.toFixed(1)}% |`,
    ),
    '',
    `Mean absolute step-time error ${summary.meanAbsErrorPct.toFixed(1)}% (max ${summary.maxAbsErrorPct.toFixed(1)}%) over ${summary.runs} runs, with the catalog's committed factors; over 15%: ${summary.over15Pct.length === 0 ? 'none' : summary.over15Pct.join(', ')}.`,
    `Predicted not to fit: ${summary.predictedNotToFit.length === 0 ? 'none' : summary.predictedNotToFit.join(', ')}.`,
    pairs.length === 0
      ? 'ZeRO-3 vs 3-D: no pair of the same model on the same GPUs.'
      : `ZeRO-3 vs 3-D ranked as published: ${pairs.filter((p) => p.rankedAsPublished).length} of ${pairs.length} pairs.`,
    '',
  ].join('\n');
  writeText('check.md', text);
  process.stdout.write(`${text.split('\n').slice(-5).join('\n')}\n`);
}
