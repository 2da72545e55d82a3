import { estimate } from '../src/planner/estimate.ts';
import { plan } from '../src/planner/plan.ts';
import type { Plan } from '../src/schema/index.ts';
import { countsRecompute, loadPublishedRuns, publishedRequest } from './published-runs.ts';
import { writeResults, writeText } from './results-io.ts';

function rate(p: Plan, hardware: boolean): number {
  return hardware ? p.summary!.hardwareTflopsPerDevice : p.summary!.tflopsPerDevice;
}

/**
 * Estimate of each published configuration vs its measured TFLOP/s per GPU (in the run's own
 * accounting), and the planner's own choice for the same model, cluster and batch against it.
 */
export async function runFidelity(): Promise<void> {
  const rows = [];
  for (const run of loadPublishedRuns()) {
    const request = publishedRequest(run);
    const hardware = countsRecompute(run);
    const published = await estimate(request);
    const { parallel, ...free } = request;
    // The planner keeps the run's implementation choices (overlap flags) but searches the degrees.
    const planned = await plan({
      ...free,
      parallel: {
        overlapGradReduce: parallel!.overlapGradReduce,
        overlapTensorParallelComm: parallel!.overlapTensorParallelComm,
      },
    });
    const estimated = rate(published, hardware);
    const s = planned.summary;
    rows.push({
      run: run.id,
      publishedTflops: run.measured.tflops_per_gpu,
      estimatedTflops: estimated,
      errorPct: ((estimated - run.measured.tflops_per_gpu) / run.measured.tflops_per_gpu) * 100,
      publishedConfigStepSec: published.summary!.stepTimeSec,
      publishedConfigFits: published.status === 'optimal',
      plannerStepSec: s?.stepTimeSec ?? null,
      plannerChoice:
        s === null
          ? planned.status
          : `tp${s.tp} pp${s.pp} dp${s.dp} mb${s.microBatch} ${s.schedule}${s.virtualStages > 1 ? `×${s.virtualStages}` : ''} rc=${s.recompute} zero${s.zero}`,
      plannerSpeedup: s === null ? null : published.summary!.stepTimeSec / s.stepTimeSec,
      plannerWallSec: planned.solver.wallSec,
    });
    process.stderr.write(`${run.id}\n`);
  }
  const errors = rows.map((r) => Math.abs(r.errorPct));
  const summary = {
    meanAbsErrorPct: errors.reduce((a, b) => a + b, 0) / errors.length,
    maxAbsErrorPct: Math.max(...errors),
    plannerNeverWorse: rows.every((r) => r.plannerSpeedup !== null && r.plannerSpeedup >= 1 - 1e-9),
  };
  writeResults('fidelity', { summary, rows });
  const table = [
    '| run | published TFLOP/s | estimated | error | planner’s choice | planner vs published config |',
    '|---|---:|---:|---:|---|---:|',
    ...rows.map(
      (r) =>
        `| ${r.run} | ${r.publishedTflops} | ${r.estimatedTflops.toFixed(1)} | ${r.errorPct.toFixed(1)}% | ${r.plannerChoice} | ${r.plannerSpeedup === null ? '—' : `${r.plannerSpeedup.toFixed(2)}×`} |`,
    ),
    '',
    `Mean absolute error ${summary.meanAbsErrorPct.toFixed(1)}%, largest ${summary.maxAbsErrorPct.toFixed(1)}%; planner never worse: ${summary.plannerNeverWorse}.`,
    '',
  ].join('\n');
  writeText('fidelity.md', table);
  process.stdout.write(`${table}\n`);
}
