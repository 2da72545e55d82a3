import { Command } from 'commander';
import { registerCalibrateCommand } from './cli/calibrate-command.ts';
import { registerExportCommand } from './cli/export-command.ts';
import { registerImportCommand } from './cli/import-command.ts';
import { registerPlanCommands } from './cli/plan-command.ts';
import { registerServeCommand } from './cli/serve-command.ts';
import { registerShardCommand } from './cli/shard-command.ts';
import { registerSolveIlpCommand } from './cli/solve-ilp-command.ts';
import { registerSweepCommand } from './cli/sweep-command.ts';
import { registerWorkerCommand } from './cli/worker-command.ts';
import { InvalidInputError } from './schema/errors.ts';

// Each command imports what it runs when it runs (the planner, solvers, the HTTP app): `plan` then
// starts without loading modules that only its planning thread, or another command, needs.
const program = new Command()
  .name('meshplan')
  .description(
    'Plan how to split a training job over a GPU cluster (Alpa-style ILP + stage DP, analytic costs).',
  )
  .showHelpAfterError();

registerSolveIlpCommand(program);
registerShardCommand(program);
registerPlanCommands(program);
registerExportCommand(program);
registerImportCommand(program);
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
registerCalibrateCommand(program);

// Bad input of any command: one line per problem naming the field, exit code 2.
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
