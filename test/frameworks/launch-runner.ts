/**
 * Runs a launch script with bash, a stand-in `torchrun` first on PATH that records its arguments
 * and the CUDA_DEVICE_MAX_CONNECTIONS it was given: the command line a user's nodes would run.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Launched {
  readonly status: number | null;
  readonly stderr: string;
  /** torchrun's own options by name (`--nnodes` …). */
  readonly torchrun: ReadonlyMap<string, string>;
  /** The training script torchrun starts and its arguments. */
  readonly script: string;
  readonly args: readonly string[];
  /** CUDA_DEVICE_MAX_CONNECTIONS as torchrun saw it; null when unset. */
  readonly connections: string | null;
}

const FAKE_TORCHRUN = `#!/usr/bin/env bash
printf '%s\\0' "$@" > "$RECORD_DIR/argv"
if [ -n "\${CUDA_DEVICE_MAX_CONNECTIONS+set}" ]; then printf '%s' "$CUDA_DEVICE_MAX_CONNECTIONS" > "$RECORD_DIR/connections"; fi
`;

const TORCHRUN_OPTIONS = ['--nnodes', '--node_rank', '--nproc_per_node', '--master_addr', '--master_port'];

export function runLaunchScript(content: string, env: Readonly<Record<string, string>>): Launched {
  const dir = mkdtempSync(join(tmpdir(), 'meshplan-launch-'));
  try {
    writeFileSync(join(dir, 'torchrun'), FAKE_TORCHRUN);
    chmodSync(join(dir, 'torchrun'), 0o755);
    writeFileSync(join(dir, 'launch.sh'), content);
    const run = spawnSync('bash', [join(dir, 'launch.sh')], {
      env: { PATH: `${dir}:${process.env.PATH}`, RECORD_DIR: dir, CUDA_DEVICE_MAX_CONNECTIONS: '8', ...env },
      encoding: 'utf8',
    });
    let argv: string[] = [];
    let connections: string | null = null;
    try {
      argv = readFileSync(join(dir, 'argv'), 'utf8').split('\0').slice(0, -1);
      connections = readFileSync(join(dir, 'connections'), 'utf8');
    } catch {
      // torchrun never ran, or ran without the variable: said by status and connections.
    }
    const torchrun = new Map<string, string>();
    let i = 0;
    while (TORCHRUN_OPTIONS.includes(argv[i] ?? '')) {
      torchrun.set(argv[i]!, argv[i + 1]!);
      i += 2;
    }
    return {
      status: run.status,
      stderr: run.stderr,
      torchrun,
      script: argv[i] ?? '',
      args: argv.slice(i + 1),
      connections,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
