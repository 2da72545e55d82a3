import { writeFile } from 'node:fs/promises';
import { Presets, SingleBar } from 'cli-progress';
import { Command, Option } from 'commander';
import { positiveNumber } from './cli/arg-parsers.ts';
import { formatIntraOpPlan } from './cli/format.ts';
import { inFile, readJsonFile } from './cli/io.ts';
import { formatPlan } from './cli/plan-format.ts';
import { registerServeCommand } from './cli/serve-command.ts';
import { registerSweepCommand } from './cli/sweep-command.ts';
import { registerWorkerCommand } from './cli/worker-command.ts';
import { parsePlanRequest } from './planner/request.ts';
import { PlanThreadPool } from './queue/plan-thread-pool.ts';
import { InvalidInputError, parseOrThrow } from './schema/errors.ts';
import { IlpProblemSpec } from './schema/ilp.ts';
import type { JobProgress, Plan } from './schema/index.ts';

async function load<T>(file: string, what: string, parse: (value: unknown) => T): Promise<T> {
  try {
    return parse(await readJsonFile(file, what));
  } catch (error) {
    throw inFile(error, file);
  }
}

// Each command imports what it runs when it runs (the planner, solvers, the HTTP app): `plan` then
// starts without loading modules that only its planning thread, or another command, needs.
const program = new Command()
  .name('meshplan')
  .description(
    'Plan how to split a training job over a GPU cluster (Alpa-style ILP + stage DP, analytic costs).',
  )
  .showHelpAfterError();

program
  .command('solve-ilp')
  .description(
    'solve the numeric intra-op ILP of a JSON problem and print {status, objective, choice, wallSec}',
  )
  .argument(
    '<problem>',
    'PROBLEM.json: {nodes:[{cost,memory}], edges:[{from,to,cost}], memoryBudget, timeLimitSec}',
  )
  .addOption(
    new Option('--backend <name>', 'MILP backend')
      .choices(['auto', 'highs', 'lp-solver', 'glpk', 'elimination'])
      .default('auto'),
  )
  .action(
    async (file: string, opts: { backend: 'auto' | 'highs' | 'lp-solver' | 'glpk' | 'elimination' }) => {
      const problem = await load(file, 'problem', (v) => parseOrThrow(IlpProblemSpec, v, 'problem'));
      const { solveIlpIsolated } = await import('../solvers/index.ts');
      const solution = await solveIlpIsolated(problem, { backend: opts.backend });
      const { status, objective, choice, wallSec, backend } = solution;
      process.stdout.write(`${JSON.stringify({ status, objective, choice, wallSec, backend })}\n`);
    },
  );

program
  .command('shard')
  .description(
    'intra-op plan of a whole graph on one logical mesh: per-op strategies, specs, collectives, memory',
  )
  .requiredOption('--graph <file>', 'operator graph JSON')
  .requiredOption('--cluster <file>', 'cluster JSON')
  .requiredOption('--mesh <AxB>', 'logical mesh shape, e.g. 2x4 (axis 0 spans nodes first)')
  .option('--memory-budget-gib <gib>', 'per-device memory budget in GiB', positiveNumber)
  .option('--time-limit-sec <sec>', 'solver time limit', positiveNumber, 30)
  .addOption(
    new Option('--backend <name>', 'MILP backend')
      .choices(['auto', 'highs', 'lp-solver', 'glpk', 'elimination'])
      .default('auto'),
  )
  .option('--json', 'print the plan as JSON')
  .action(
    async (opts: {
      graph: string;
      cluster: string;
      mesh: string;
      memoryBudgetGib?: number;
      timeLimitSec: number;
      backend: 'auto' | 'highs' | 'lp-solver' | 'glpk' | 'elimination';
      json?: boolean;
    }) => {
      const [{ parseGraph }, { parseCluster }, { logicalMesh, parseMeshShape }, { shardGraph }] =
        await Promise.all([
          import('./graph/index.ts'),
          import('./cluster/index.ts'),
          import('./cluster/mesh.ts'),
          import('./planner/shard.ts'),
        ]);
      const graph = await load(opts.graph, 'graph', parseGraph);
      const cluster = await load(opts.cluster, 'cluster', parseCluster);
      const mesh = logicalMesh(cluster, parseMeshShape(opts.mesh));
      const plan = await shardGraph({
        graph,
        cluster,
        mesh,
        memoryBudgetBytes: opts.memoryBudgetGib === undefined ? null : opts.memoryBudgetGib * 2 ** 30,
        timeLimitSec: opts.timeLimitSec,
        backend: opts.backend,
      });
      process.stdout.write(opts.json ? `${JSON.stringify(plan, null, 2)}\n` : `${formatIntraOpPlan(plan)}\n`);
    },
  );

/**
 * Plans on a worker thread, as the service does, so the request's time limit holds even if a solver
 * ignores its own: the thread is stopped and the best plan found so far is printed.
 */
async function planWithinLimit(value: unknown, onProgress: (progress: JobProgress) => void): Promise<Plan> {
  const { request } = parsePlanRequest(value);
  const pool = new PlanThreadPool({ maxIdle: 0 });
  try {
    return await pool.run(request, { onProgress });
  } finally {
    await pool.close();
  }
}

async function runPlanning(
  kind: 'plan' | 'estimate',
  file: string,
  opts: { json?: boolean; html?: string },
): Promise<void> {
  const request = await readJsonFile(file, 'request');
  const bar =
    kind === 'plan' && process.stderr.isTTY && !opts.json
      ? new SingleBar(
          { format: 'planning [{bar}] {percentage}% {phase}', hideCursor: true },
          Presets.shades_classic,
        )
      : null;
  bar?.start(100, 0, { phase: '' });
  let result: Plan;
  try {
    result =
      kind === 'plan'
        ? await planWithinLimit(request, (p) => bar?.update(Math.round(p.fraction * 100), { phase: p.phase }))
        : await (await import('./planner/estimate.ts')).estimate(request);
  } catch (error) {
    throw inFile(error, file);
  } finally {
    bar?.stop();
  }
  if (opts.html !== undefined) {
    // The request gives the page the model's name and the node shape for the cluster map.
    const { renderPlanPage } = await import('./view/index.ts');
    await writeFile(opts.html, renderPlanPage({ plan: result, request }));
    process.stderr.write(`plan page written to ${opts.html}\n`);
  }
  process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatPlan(result)}\n`);
}

program
  .command('plan')
  .description('search the best pipeline stages, meshes, per-op shardings and microbatching for a request')
  .argument('<request>', 'REQUEST.json: {model, cluster, training, parallel?, options?}')
  .option('--json', 'print the plan as JSON')
  .option('--html <file>', 'also write the plan as one self-contained HTML page')
  .action((file: string, opts: { json?: boolean; html?: string }) => runPlanning('plan', file, opts));

program
  .command('estimate')
  .description('price a fixed configuration (parallel.tp, pp, dp, microBatch …) with the same cost model')
  .argument('<request>', 'REQUEST.json with "parallel" set')
  .option('--json', 'print the estimate as JSON')
  .option('--html <file>', 'also write the estimate as one self-contained HTML page')
  .action((file: string, opts: { json?: boolean; html?: string }) => runPlanning('estimate', file, opts));

// The queue loads only when `serve` runs; MESHPLAN_QUEUE names the BullMQ queue (default `plans`),
// MESHPLAN_KEEP_RESULTS_SEC how long finished jobs stay readable (default a day).
registerServeCommand(program, async () =>
  (await import('./queue/index.ts')).createJobQueue({
    ...(process.env.REDIS_URL ? { redisUrl: process.env.REDIS_URL } : {}),
    ...(process.env.MESHPLAN_QUEUE ? { queueName: process.env.MESHPLAN_QUEUE } : {}),
    ...(Number(process.env.MESHPLAN_KEEP_RESULTS_SEC) > 0
      ? { keepResultsSec: Number(process.env.MESHPLAN_KEEP_RESULTS_SEC) }
      : {}),
  }),
);
registerWorkerCommand(program);
registerSweepCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof InvalidInputError) {
    process.stderr.write(`meshplan: ${error.message.split(':')[0]}\n`);
    for (const issue of error.issues) process.stderr.write(`  ${issue.path || '(root)'}: ${issue.message}\n`);
    process.exitCode = 2;
  } else {
    throw error;
  }
}
