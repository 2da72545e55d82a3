/**
 * `meshplan worker`: a BullMQ worker process on REDIS_URL (DESIGN.md §7). SIGTERM or Ctrl-C stops it
 * taking jobs and lets running ones finish for `--drain-sec`; those still running are then put back in
 * the queue for another worker. A second signal does that at once.
 */
import { type Command, Option } from 'commander';
import { InvalidInputError } from '../schema/errors.ts';
import { atLeastOne, nonNegativeNumber, positiveInteger } from './arg-parsers.ts';

interface WorkerCommandOptions {
  concurrency?: number;
  queue: string;
  drainSec: number;
  lockSec: number;
}

export function registerWorkerCommand(program: Command): Command {
  return program
    .command('worker')
    .description(
      'plan jobs from the BullMQ queue on REDIS_URL until SIGTERM (in-flight jobs finish or go back)',
    )
    .option(
      '--concurrency <n>',
      'jobs planned at once, one thread each (default: one per CPU)',
      positiveInteger,
    )
    .addOption(new Option('--queue <name>', 'BullMQ queue name').env('MESHPLAN_QUEUE').default('plans'))
    .addOption(
      new Option(
        '--lock-sec <sec>',
        "job lock lifetime and stalled-job check period: how soon a killed worker's jobs run elsewhere",
      )
        .env('MESHPLAN_LOCK_SEC')
        .default(30)
        .argParser(atLeastOne),
    )
    .addOption(
      new Option(
        '--drain-sec <sec>',
        'on SIGTERM, how long running jobs may finish before they are re-queued',
      )
        .env('MESHPLAN_DRAIN_SEC')
        .default(25)
        .argParser(nonNegativeNumber),
    )
    .action(async (opts: WorkerCommandOptions) => {
      const redisUrl = process.env.REDIS_URL;
      if (!redisUrl) {
        throw new InvalidInputError(
          [{ path: 'REDIS_URL', message: 'set it to the Redis the API uses, e.g. redis://127.0.0.1:6379' }],
          'environment',
        );
      }
      const log = (line: string) => process.stderr.write(`meshplan worker: ${line}\n`);
      // BullMQ and the planner load when a worker starts, not whenever the CLI registers `worker`.
      const { PlanWorker } = await import('../queue/worker.ts');
      const worker = await PlanWorker.start({
        redisUrl,
        queueName: opts.queue,
        log,
        ...(opts.concurrency !== undefined ? { concurrency: opts.concurrency } : {}),
        // A dead worker's jobs go back to the queue once its lock lapses and a stalled check runs.
        lockDurationMs: opts.lockSec * 1000,
        stalledIntervalMs: opts.lockSec * 1000,
      });
      log(`taking jobs from queue "${opts.queue}"`);
      await new Promise<void>((resolve) => {
        let signals = 0;
        const stop = (signal: NodeJS.Signals) => {
          signals += 1;
          const graceMs = signals === 1 ? opts.drainSec * 1000 : 0;
          log(
            `${signal}: ${graceMs > 0 ? `draining for up to ${opts.drainSec} s` : 're-queueing running jobs'}`,
          );
          worker.close(graceMs).then(resolve, (error: unknown) => {
            log(`closing failed: ${error instanceof Error ? error.message : String(error)}`);
            process.exitCode = 1;
            resolve();
          });
        };
        process.on('SIGTERM', stop);
        process.on('SIGINT', stop);
      });
      log('stopped');
    });
}
