/**
 * COIN-OR CBC (Debian's `coinor-cbc`), a native multi-threaded branch-and-cut, run as a subprocess: the
 * model goes out as an LP file, the solution comes back as CBC's solution file. Optional: it is only
 * offered when the `cbc` binary is on PATH. The process is killed at the deadline (CBC honours `-sec`
 * but can overrun it while finishing a node) and when the caller aborts. This is the one backend that
 * touches the file system, because CBC only reads models from files.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { childProcessEnded, childProcessStarted, childProcessStarting } from '../child-processes.ts';
import { SolveAbortedError, SolverBackendError } from '../errors.ts';
import type { MilpBackend, MilpResult, MilpSolveOptions } from './backend.ts';
import type { LinearModel } from './linearise.ts';
import { writeLpFile } from './lp-file.ts';

/**
 * CBC's threads for meshplan's own solves: one. CBC 2.10's parallel branch-and-cut can deadlock starting
 * its threads (their log: "waiting to start 10.0", the main thread "waiting for threads") and then sits
 * until `-sec`: measured 5 times in 3,000 solves of 6-node problems on 2 loaded cores, none with one
 * thread. One thread also leaves the other core to the elimination DP that `auto` races against CBC.
 */
const DEFAULT_CBC_THREADS = 1;
/** Time after `-sec` before the process is killed: CBC checks its clock between nodes only. */
const KILL_GRACE_SEC = 1;

let located: string | null | undefined;

/** The `cbc` executable on PATH, or null; looked up once per process. */
export function cbcPath(): string | null {
  if (located !== undefined) return located;
  located = null;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'cbc');
    if (dir !== '' && existsSync(candidate)) {
      located = candidate;
      break;
    }
  }
  return located;
}

export function cbcAvailable(): boolean {
  return cbcPath() !== null;
}

export interface CbcRun {
  readonly status: 'optimal' | 'infeasible' | 'stopped' | 'killed';
  /** Column values by name (absent names are 0); null without an integer point. */
  readonly values: ReadonlyMap<string, number> | null;
  readonly objective: number | null;
}

/**
 * Runs `cbc` on an LP file text and reads its solution file. `mipStart` (column name → value) is handed
 * over as CBC's -mipstart, so its search starts from that incumbent. Everything up to the process start
 * is synchronous, so that a caller can start CBC and then run a synchronous solver of its own alongside.
 * `threads` is CBC's -threads (one unless a caller, such as the benchmark that replays Alpa's call, asks).
 */
export async function runCbc(
  lpText: string,
  timeLimitSec: number,
  options: { signal?: AbortSignal; mipStart?: ReadonlyMap<string, number>; threads?: number } = {},
): Promise<CbcRun> {
  const binary = cbcPath();
  if (binary === null) throw new SolverBackendError('cbc', 'the cbc binary is not on PATH');
  const dir = mkdtempSync(join(tmpdir(), 'meshplan-cbc-'));
  try {
    const modelFile = join(dir, 'model.lp');
    const solutionFile = join(dir, 'solution.txt');
    writeFileSync(modelFile, lpText);
    const args = [
      modelFile,
      '-threads',
      String(options.threads ?? DEFAULT_CBC_THREADS),
      '-timeMode',
      'elapsed',
    ];
    args.push('-sec', String(Math.max(0.01, timeLimitSec)), '-ratioGap', '0', '-allowableGap', '0');
    if (options.mipStart !== undefined) {
      const startFile = join(dir, 'start.txt');
      writeFileSync(startFile, mipStartText(options.mipStart));
      args.push('-mipstart', startFile);
    }
    args.push('-solve', '-printingOptions', 'all', '-solution', solutionFile);
    const killed = await runProcess(binary, args, (timeLimitSec + KILL_GRACE_SEC) * 1000, options.signal);
    if (killed) return { status: 'killed', values: null, objective: null };
    return parseSolution(await readFile(solutionFile, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** CBC reads a mipstart in its own solution-file layout: index, name, value. */
function mipStartText(start: ReadonlyMap<string, number>): string {
  const lines = ['Stopped on iterations - objective value 0'];
  let index = 0;
  for (const [name, value] of start) lines.push(`${index++} ${name} ${value}`);
  return `${lines.join('\n')}\n`;
}

/** Resolves true when the process had to be killed (deadline); rejects on abort or a failed start. */
function runProcess(binary: string, args: string[], killAfterMs: number, signal?: AbortSignal) {
  return new Promise<boolean>((resolve, reject) => {
    if (signal?.aborted) return reject(new SolveAbortedError(signal.reason));
    childProcessStarting();
    const child = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    const pid = child.pid;
    childProcessStarted(pid);
    let stderr = '';
    let timedOut = false;
    child.stderr.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, killAfterMs);
    const onAbort = () => child.kill('SIGKILL');
    signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(new SolverBackendError('cbc', error.message));
    });
    child.on('close', (code) => {
      if (pid !== undefined) childProcessEnded(pid);
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) reject(new SolveAbortedError(signal.reason));
      else if (timedOut) resolve(true);
      else if (code !== 0) reject(new SolverBackendError('cbc', `exit code ${code}: ${stderr.trim()}`));
      else resolve(false);
    });
  });
}

/**
 * The first line is the status ("Optimal - objective value 4", "Infeasible - …", "Stopped on time - …",
 * "Stopped on time (no integer solution - continuous used) - …"); then one line per column:
 * index, name, value, reduced cost (prefixed with ** when the value breaks a bound).
 */
export function parseSolution(text: string): CbcRun {
  const [head = '', ...lines] = text.split('\n');
  const objectiveMatch = /objective value\s+(\S+)/.exec(head);
  const objective = objectiveMatch ? Number(objectiveMatch[1]) : null;
  if (/^\s*(Integer )?infeasible/i.test(head)) return { status: 'infeasible', values: null, objective: null };
  const optimal = /^\s*Optimal/.test(head);
  if (!optimal && !/^\s*Stopped/.test(head))
    throw new SolverBackendError('cbc', `unexpected solution status "${head.trim()}"`);
  if (/no integer solution/.test(head)) return { status: 'stopped', values: null, objective: null };
  const values = new Map<string, number>();
  for (const line of lines) {
    const fields = line.replace('**', ' ').trim().split(/\s+/);
    if (fields.length < 3) continue;
    values.set(fields[1]!, Number(fields[2]));
  }
  return { status: optimal ? 'optimal' : 'stopped', values, objective };
}

/**
 * meshplan's costs are seconds, often 1e-6 or less per term, under CBC's absolute tolerances (~1e-7):
 * unscaled, CBC calls a choice optimal that is up to 0.02% off (measured on Alpa-form chains and DAGs).
 * With the largest cost scaled to 100 it returns the exact optimum (checked against the elimination DP)
 * and is no slower than with 1 or 1e4.
 */
const COST_SCALE_TARGET = 100;

function objectiveScale(model: LinearModel): number {
  const largest = model.columnCosts.reduce((a, c) => Math.max(a, Math.abs(c)), 0);
  return largest > 0 ? COST_SCALE_TARGET / largest : 1;
}

export const cbcBackend: MilpBackend = {
  name: 'cbc',
  async solve(model: LinearModel, timeLimitSec: number, options: MilpSolveOptions = {}): Promise<MilpResult> {
    const mipStart =
      options.start === undefined
        ? undefined
        : new Map(model.columnNames.map((name, column) => [name, options.start!(column)]));
    const scale = objectiveScale(model);
    const scaled = { ...model, columnCosts: model.columnCosts.map((c) => c * scale) };
    const run = await runCbc(writeLpFile(scaled), timeLimitSec, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(mipStart ? { mipStart } : {}),
    });
    if (run.status === 'infeasible') return { status: 'infeasible', columnValues: null, objective: null };
    if (run.values === null) return { status: 'timeout', columnValues: null, objective: null };
    const values = run.values;
    const byColumn = model.columnNames.map((name) => values.get(name) ?? 0);
    return {
      status: run.status === 'optimal' ? 'optimal' : 'feasible',
      columnValues: (column) => byColumn[column]!,
      objective: run.objective === null ? null : run.objective / scale,
    };
  },
};
