import { type Command, Option } from 'commander';
import { BACKEND_CHOICES, type BackendChoice } from '../../solvers/problem.ts';
import { parseOrThrow } from '../schema/errors.ts';
import { IlpProblemSpec } from '../schema/ilp.ts';
import { loadJsonFile } from './io.ts';

/** The MILP backend option of the commands that solve an ILP. */
export function backendOption(): Option {
  return new Option('--backend <name>', 'MILP backend').choices(BACKEND_CHOICES).default('auto');
}

/** `meshplan solve-ilp PROBLEM.json [--backend B]`: the pure numeric intra-op ILP. */
export function registerSolveIlpCommand(program: Command): Command {
  return program
    .command('solve-ilp')
    .description(
      'solve the numeric intra-op ILP of a JSON problem and print {status, objective, choice, wallSec}',
    )
    .argument(
      '<problem>',
      'PROBLEM.json: {nodes:[{cost,memory}], edges:[{from,to,cost}], memoryBudget, timeLimitSec}',
    )
    .addOption(backendOption())
    .action(async (file: string, opts: { backend: BackendChoice }) => {
      const problem = await loadJsonFile(file, 'problem', (v) => parseOrThrow(IlpProblemSpec, v, 'problem'));
      const { solveIlpIsolated } = await import('../../solvers/index.ts');
      const solution = await solveIlpIsolated(problem, { backend: opts.backend });
      const { status, objective, choice, wallSec, backend } = solution;
      process.stdout.write(`${JSON.stringify({ status, objective, choice, wallSec, backend })}\n`);
    });
}
