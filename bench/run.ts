import { parseArgs } from 'node:util';
import { runCheck } from './check.ts';
import { runFidelity } from './fidelity.ts';
import { runFittedFactors } from './fitted-factors.ts';
import { runFrontier } from './frontier.ts';
import { runImport } from './import.ts';
import { runPlanning } from './planning.ts';
import { runService } from './service.ts';
import { runSoak, soakDurationSec } from './soak.ts';
import { runSolvers } from './solvers.ts';

/**
 * `npm run bench [-- solvers|planning|import|fidelity|factors|service|soak|frontier … [--duration-sec N] [--quick]]`:
 * every suite by default; results in bench/results/. `npm run bench -- check FILE …` prices published runs
 * kept out of the fit (either reference format) with the committed factors. `--duration-sec` (or SOAK_DURATION_SEC) shortens the soak's two
 * minutes; `--quick` (or ILP_BENCH_LIMIT_SEC=N) caps the solvers' comparison with Alpa's CBC at 10 s per
 * instance instead of 120 s.
 */
const { values, positionals: wanted } = parseArgs({
  options: { 'duration-sec': { type: 'string' }, quick: { type: 'boolean', default: false } },
  allowPositionals: true,
});
if (wanted[0] === 'check') {
  process.stdout.write('== check\n');
  await runCheck(wanted.slice(1));
  process.exit(0);
}
// Read up front so a bad value fails before any suite has run for minutes.
const soakSec = soakDurationSec(values['duration-sec']);
const SUITES: Record<string, () => Promise<void>> = {
  solvers: () => runSolvers(values.quick === true),
  planning: () => runPlanning(5),
  import: () => runImport(5),
  fidelity: runFidelity,
  factors: runFittedFactors,
  service: runService,
  soak: () => runSoak(soakSec),
  frontier: runFrontier,
};

const unknown = wanted.filter((w) => !(w in SUITES));
if (unknown.length > 0) {
  process.stderr.write(`unknown suite(s) ${unknown.join(', ')}; known: ${Object.keys(SUITES).join(', ')}\n`);
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : Object.keys(SUITES)) {
  process.stdout.write(`== ${name}\n`);
  await SUITES[name]!();
}
