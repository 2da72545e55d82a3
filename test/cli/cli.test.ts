import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const BIN = new URL('../../bin/meshplan.js', import.meta.url).pathname;
const ROOT = new URL('../../', import.meta.url).pathname;

async function meshplan(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      // A whole-model plan as JSON can run to megabytes (per-op tables of every stage).
      maxBuffer: 64 * 2 ** 20,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

function tempFile(name: string, content: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'meshplan-cli-'));
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

describe('meshplan CLI contracts', () => {
  it('solve-ilp prints {status, objective, choice, wallSec} for the numeric problem', async () => {
    // Two nodes: picking 1 then 0 costs 2 + 1 + 0; every other pair costs more.
    const problem = {
      nodes: [
        { cost: [5, 2], memory: [1, 1] },
        { cost: [1, 1], memory: [1, 3] },
      ],
      edges: [
        {
          from: 0,
          to: 1,
          cost: [
            [0, 9],
            [0, 9],
          ],
        },
      ],
      memoryBudget: null,
      timeLimitSec: 10,
    };
    const out = await meshplan(['solve-ilp', tempFile('p.json', problem), '--backend', 'highs']);
    expect(out.code).toBe(0);
    const answer = JSON.parse(out.stdout);
    expect(answer).toMatchObject({ status: 'optimal', objective: 3, choice: [1, 0] });
    expect(answer.wallSec).toBeGreaterThan(0);
  });

  it('shard --json gives per-op strategies, specs, collectives and totals', async () => {
    const out = await meshplan([
      'shard',
      '--graph',
      'examples/mlp.graph.json',
      '--cluster',
      'examples/dgx-a100.cluster.json',
      '--mesh',
      '1x8',
      '--json',
    ]);
    expect(out.code).toBe(0);
    const plan = JSON.parse(out.stdout);
    expect(plan.status).toBe('optimal');
    expect(plan.ops.map((o: { strategy: { axis1: string } }) => o.strategy.axis1)).toEqual(['f', 'f', 'f']);
    expect(plan.ops[2].collectives[0]).toMatchObject({ kind: 'all-reduce', axis: 1, phase: 'forward' });
    expect(plan.totals.totalSec).toBeGreaterThan(0);
  });

  it('exits 2 and names the field for bad input', async () => {
    const badCluster = tempFile('c.json', { gpu: 'Z80', nodes: 1, gpusPerNode: 8 });
    const out = await meshplan([
      'shard',
      '--graph',
      'examples/mlp.graph.json',
      '--cluster',
      badCluster,
      '--mesh',
      '1x8',
    ]);
    expect(out.code).toBe(2);
    expect(out.stderr).toMatch(/gpu: unknown GPU "Z80"/);
    const notJson = await meshplan(['solve-ilp', tempFile('p.json', '{nope')]);
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toMatch(/not valid JSON/);
  });

  it('plan --json prints the whole-model plan of the README example', async () => {
    const out = await meshplan(['plan', 'examples/gpt3-175b-1024xa100.request.json', '--json']);
    expect(out.code).toBe(0);
    const plan = JSON.parse(out.stdout);
    expect(plan.status).toBe('optimal');
    expect(plan.summary.dp * plan.summary.tp * plan.summary.pp).toBe(1024);
    expect(plan.stages.length).toBe(plan.summary.pp);
  });

  it('plan keeps to the request time limit and prints the best plan found, or timeout', async () => {
    // 128 layers on 2,048 GPUs plans for several seconds; one second cuts the search short.
    const request = {
      model: { kind: 'transformer', layers: 128, hidden: 16384, heads: 128, vocab: 50000, seqLen: 2048 },
      cluster: { gpu: 'A100-80GB', nodes: 256, gpusPerNode: 8 },
      training: { globalBatch: 4096 },
      options: { timeLimitSec: 1 },
    };
    const out = await meshplan(['plan', tempFile('long.json', request), '--json']);
    expect(out.code).toBe(0);
    const plan = JSON.parse(out.stdout);
    expect(['feasible', 'timeout']).toContain(plan.status);
    expect(plan.reason).toMatch(/time limit/);
    expect(plan.solver.wallSec).toBeLessThanOrEqual(1.1);
  });

  it('estimate prints Megatron-LM arguments for a published configuration', async () => {
    const out = await meshplan(['estimate', 'examples/gpt3-175b-1024xa100.estimate.json', '--json']);
    expect(out.code).toBe(0);
    const plan = JSON.parse(out.stdout);
    expect(plan.summary).toMatchObject({ tp: 8, pp: 16, dp: 8, microBatch: 1 });
    expect(plan.exports.megatron.args.join(' ')).toContain(
      '--tensor-model-parallel-size 8 --pipeline-model-parallel-size 16',
    );
  });

  it('the text form shows the settings of the framework targeted, not Megatron-LM’s', async () => {
    const request = {
      model: { kind: 'transformer', layers: 4, hidden: 1024, heads: 16, vocab: 32000, seqLen: 1024 },
      cluster: { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 8 },
      training: { globalBatch: 64, precision: 'bf16', optimizer: 'adam' },
      parallel: { tp: 1, pp: 1, dp: 8, microBatch: 2, zero: 3, recompute: 'none' },
    };
    const path = tempFile('zero3.json', request);
    const deepspeed = await meshplan(['estimate', path, '--target', 'deepspeed']);
    expect(deepspeed.code).toBe(0);
    expect(deepspeed.stdout).toContain('deepspeed (DeepSpeed v0.16.4):');
    expect(deepspeed.stdout).not.toContain('megatron-lm:');
    // The config line is the ds_config.json the JSON export carries, as one JSON object.
    const configLine = deepspeed.stdout.split('\n').find((l) => l.trim().startsWith('{"train_batch_size"'));
    expect(JSON.parse(configLine!)).toMatchObject({
      train_batch_size: 64,
      train_micro_batch_size_per_gpu: 2,
      zero_optimization: { stage: 3 },
    });
    expect(deepspeed.stdout).toMatch(/also expressible: .*megatron/);
    const any = await meshplan(['estimate', path]);
    expect(any.stdout).toContain('megatron-lm:');
    expect(any.stdout).not.toContain('deepspeed (DeepSpeed');
  });
});
