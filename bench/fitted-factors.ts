import { ACHIEVABLE_MATMUL_SHARE } from '../src/cluster/gpus/common.ts';
import { Calibrator } from '../src/planner/calibration/by-generation.ts';
import type { GpuGeneration } from '../src/schema/index.ts';
import { loadReferenceRuns } from './reference-runs.ts';
import { writeResults } from './results-io.ts';

/**
 * `npm run bench -- factors`: the in-sample fit alone (no leave-one-source-out, no planner), printed as
 * the catalog constants of src/cluster/gpus/common.ts, to paste there after the cost model changes.
 * Besides the generations with runs, every one with a published GEMM share (ACHIEVABLE_MATMUL_SHARE),
 * which borrows a neighbour's fit scaled by it: Volta, with no reference run, gets Ampere's so.
 */
export async function runFittedFactors(): Promise<void> {
  const runs = await loadReferenceRuns();
  const withShare = Object.keys(ACHIEVABLE_MATMUL_SHARE) as GpuGeneration[];
  const fits = await new Calibrator().byGeneration(
    runs,
    runs,
    (m) => process.stderr.write(`${m}\n`),
    withShare,
  );
  const lines: string[] = [];
  for (const [generation, fit] of fits) {
    const values = Object.entries(fit.factors)
      .map(([name, value]) => `${name}: ${value}`)
      .join(', ');
    lines.push(
      `// ${generation}: fitted on ${fit.runs} ${fit.origin} runs, mean |step-time error| ${fit.meanAbsErrorPct.toFixed(1)}%`,
      `export const ${generation}Efficiency = { ${values} } as const;`,
    );
  }
  writeResults('fitted-factors', { factors: Object.fromEntries(fits) });
  process.stdout.write(`${lines.join('\n')}\n`);
}
