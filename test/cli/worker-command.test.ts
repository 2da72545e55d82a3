import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerWorkerCommand } from '../../src/cli/worker-command.ts';

/** Parses `worker ARGS` without starting it: the action is replaced by one that keeps the options. */
function parseWorker(args: string[]): Record<string, unknown> {
  const program = new Command().exitOverride().configureOutput({ writeErr: () => {} });
  const worker = registerWorkerCommand(program);
  let seen: Record<string, unknown> = {};
  worker.action((opts: Record<string, unknown>) => {
    seen = opts;
  });
  program.parse(['worker', ...args], { from: 'user' });
  return seen;
}

describe('meshplan worker options', () => {
  afterEach(() => vi.unstubAllEnvs());

  it('defaults: queue plans, lock 30 s, drain 25 s', () => {
    expect(parseWorker([])).toMatchObject({ queue: 'plans', lockSec: 30, drainSec: 25 });
  });

  it('reads MESHPLAN_QUEUE, MESHPLAN_LOCK_SEC and MESHPLAN_DRAIN_SEC, flags first', () => {
    vi.stubEnv('MESHPLAN_QUEUE', 'nightly');
    vi.stubEnv('MESHPLAN_LOCK_SEC', '5');
    vi.stubEnv('MESHPLAN_DRAIN_SEC', '2');
    expect(parseWorker([])).toMatchObject({ queue: 'nightly', lockSec: 5, drainSec: 2 });
    expect(parseWorker(['--lock-sec', '7'])).toMatchObject({ lockSec: 7 });
  });

  it('refuses a malformed or blank value, from a flag or the environment, instead of NaN or 0', () => {
    vi.stubEnv('MESHPLAN_LOCK_SEC', 'abc');
    expect(() => parseWorker([])).toThrow(/≥ 1/);
    vi.unstubAllEnvs();
    vi.stubEnv('MESHPLAN_DRAIN_SEC', '');
    expect(() => parseWorker([])).toThrow(/≥ 0/);
    vi.unstubAllEnvs();
    expect(() => parseWorker(['--concurrency', '0'])).toThrow(/integer ≥ 1/);
  });
});
