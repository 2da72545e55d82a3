import { writeFile } from 'node:fs/promises';
import { Presets, SingleBar } from 'cli-progress';
import { type Command, Option } from 'commander';
import { parsePlanRequest } from '../planner/request.ts';
import { PlanThreadPool } from '../queue/plan-thread-pool.ts';
import { FrameworkTarget, type JobProgress, type Plan } from '../schema/index.ts';
import { inlineModelFile } from './import-command.ts';
import { inFile, readJsonFile } from './io.ts';
import { formatPlan } from './plan-format.ts';
import { inlineProfileFile } from './profile-file.ts';

interface PlanningOptions {
  json?: boolean;
  html?: string;
  target?: FrameworkTarget;
}

/** The request with `--target` in `options.target`, when given; a request that is not an object stays as it is for the schema to refuse. */
function withTarget(request: unknown, target: FrameworkTarget | undefined): unknown {
  if (target === undefined || request === null || typeof request !== 'object' || Array.isArray(request))
    return request;
  const r = request as { options?: unknown };
  const options = r.options !== null && typeof r.options === 'object' ? r.options : {};
  return { ...r, options: { ...options, target } };
}

function targetOption(): Option {
  return new Option(
    '--target <framework>',
    'plan for this framework only (overrides options.target)',
  ).choices(FrameworkTarget.options);
}

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

async function runPlanning(kind: 'plan' | 'estimate', file: string, opts: PlanningOptions): Promise<void> {
  const read = await inlineModelFile(await readJsonFile(file, 'request'), file);
  const request = withTarget(await inlineProfileFile(read, file), opts.target);
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
        : await (await import('../planner/estimate.ts')).estimate(request);
  } catch (error) {
    throw inFile(error, file);
  } finally {
    bar?.stop();
  }
  if (opts.html !== undefined) {
    // The request gives the page the model's name and the node shape for the cluster map.
    const { renderPlanPage } = await import('../view/index.ts');
    await writeFile(opts.html, renderPlanPage({ plan: result, request }));
    process.stderr.write(`plan page written to ${opts.html}\n`);
  }
  process.stdout.write(opts.json ? `${JSON.stringify(result, null, 2)}\n` : `${formatPlan(result)}\n`);
}

/** `meshplan plan REQUEST.json` and `meshplan estimate REQUEST.json`. */
export function registerPlanCommands(program: Command): void {
  program
    .command('plan')
    .description('search the best pipeline stages, meshes, per-op shardings and microbatching for a request')
    .argument('<request>', 'REQUEST.json: {model, cluster, training, parallel?, options?}')
    .option('--json', 'print the plan as JSON')
    .option('--html <file>', 'also write the plan as one self-contained HTML page')
    .addOption(targetOption())
    .action((file: string, opts: PlanningOptions) => runPlanning('plan', file, opts));

  program
    .command('estimate')
    .description('price a fixed configuration (parallel.tp, pp, dp, microBatch …) with the same cost model')
    .argument('<request>', 'REQUEST.json with "parallel" set')
    .option('--json', 'print the estimate as JSON')
    .option('--html <file>', 'also write the estimate as one self-contained HTML page')
    .addOption(targetOption())
    .action((file: string, opts: PlanningOptions) => runPlanning('estimate', file, opts));
}
