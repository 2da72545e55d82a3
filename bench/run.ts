import { runFidelity } from './fidelity.ts';
import { runPlanning } from './planning.ts';
import { runService } from './service.ts';
import { runSolvers } from './solvers.ts';

/** `npm run bench [-- solvers|planning|fidelity|service …]`: every suite by default; results in bench/results/. */
const SUITES: Record<string, () => Promise<void>> = {
  solvers: runSolvers,
  planning: () => runPlanning(5),
  fidelity: runFidelity,
  service: runService,
};

const wanted = process.argv.slice(2);
const unknown = wanted.filter((w) => !(w in SUITES));
if (unknown.length > 0) {
  process.stderr.write(`unknown suite(s) ${unknown.join(', ')}; known: ${Object.keys(SUITES).join(', ')}\n`);
  process.exit(2);
}
for (const name of wanted.length > 0 ? wanted : Object.keys(SUITES)) {
  process.stdout.write(`== ${name}\n`);
  await SUITES[name]!();
}
