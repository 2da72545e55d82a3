import { readFileSync } from 'node:fs';
import { plan } from '../src/planner/plan.ts';
import type { PlanRequestInput } from '../src/schema/index.ts';
import { median, writeResults } from './results-io.ts';

interface Case {
  readonly name: string;
  readonly targetSec: number;
  readonly request: PlanRequestInput;
  readonly reference?: string;
  /** Fewer repeats for the cases that take many seconds each. */
  readonly repeats?: number;
}

const example = (file: string): PlanRequestInput =>
  JSON.parse(readFileSync(new URL(`../examples/${file}`, import.meta.url), 'utf8')) as PlanRequestInput;

const gpt = (layers: number, hidden: number, heads: number, seqLen: number) =>
  ({ kind: 'transformer', layers, hidden, heads, vocab: 51200, seqLen, activation: 'gelu' }) as const;

const CASES: readonly Case[] = [
  {
    name: "GPT-39B on 64 V100 (Alpa OSDI'22 Table 5)",
    targetSec: 2,
    reference: 'Alpa: 2,393 s (1,583 s compilation, 804 s profiling, 1.65 s stage DP)',
    // p3.16xlarge: 8 V100 16GB on NVLink, 25 Gb/s (3.125 GB/s) per node across nodes.
    request: {
      model: gpt(48, 8192, 64, 1024),
      cluster: { gpu: 'V100-16GB', nodes: 8, gpusPerNode: 8, interNodeGBps: 3.125 / 8 },
      training: { globalBatch: 1024, precision: 'fp16' },
    },
  },
  {
    name: 'GPT-3 175B on 1,024 A100',
    targetSec: 3,
    request: {
      model: gpt(96, 12288, 96, 2048),
      cluster: { gpu: 'A100-80GB', nodes: 128, gpusPerNode: 8 },
      training: { globalBatch: 1536 },
    },
  },
  {
    name: 'GPT 1T on 3,072 A100',
    targetSec: 10,
    request: {
      model: gpt(128, 25600, 160, 2048),
      cluster: { gpu: 'A100-80GB', nodes: 384, gpusPerNode: 8 },
      training: { globalBatch: 3072 },
    },
  },
  // The README's two examples (target `any`: the plan and the best of every framework in one search).
  {
    name: 'README: GPT-3 175B on 1,024 A100',
    targetSec: 3,
    request: example('gpt3-175b-1024xa100.request.json'),
  },
  {
    name: 'README: Llama 3 70B on 256 H100',
    targetSec: 3,
    request: example('llama3-70b-256xh100.request.json'),
  },
  // Today's jobs (issue 13): each must plan within 20 s.
  {
    name: 'Llama 3.1 405B, 131,072 tokens, 16,384 H100',
    targetSec: 20,
    repeats: 1,
    request: example('llama3-405b-131k-16384xh100.request.json'),
  },
  {
    name: 'DeepSeek-V3 on 2,048 H800 (FP8)',
    targetSec: 20,
    repeats: 1,
    request: example('deepseek-v3-2048xh800.request.json'),
  },
  {
    name: 'Mixtral-8x22B-shaped MoE on 256 B200',
    targetSec: 20,
    repeats: 1,
    request: example('mixtral-8x22b-256xb200.request.json'),
  },
  {
    name: 'gpt-oss-120b on 64 B200 (128 small experts, sliding windows)',
    targetSec: 20,
    repeats: 1,
    request: example('gpt-oss-120b-64xb200.request.json'),
  },
  {
    name: 'Nemotron 3 Super on 64 GB300 (hybrid Mamba-2 / latent MoE, for Megatron-LM)',
    targetSec: 20,
    repeats: 1,
    request: example('nemotron-3-super-64xgb300.request.json'),
  },
];

/** Planning wall time, median of `repeats`, on this machine. */
export async function runPlanning(repeats = 5): Promise<void> {
  const results = [];
  for (const c of CASES) {
    const walls: number[] = [];
    let last = null;
    const cpuStart = process.cpuUsage();
    const runs = Math.min(repeats, c.repeats ?? repeats);
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      last = await plan(c.request);
      walls.push((performance.now() - started) / 1000);
    }
    // CPU seconds per plan (user + system): what the search costs, whatever else loads the machine.
    const used = process.cpuUsage(cpuStart);
    const cpuSec = (used.user + used.system) / 1e6 / runs;
    const s = last!.summary;
    const row = {
      case: c.name,
      medianSec: median(walls),
      wallSec: walls,
      cpuSec,
      targetSec: c.targetSec,
      meetsTarget: median(walls) <= c.targetSec,
      reference: c.reference ?? null,
      status: last!.status,
      ilpSolves: last!.solver.ilpSolves,
      configurations: last!.solver.configurationsTried,
      plan:
        s === null
          ? null
          : {
              dp: s.dp,
              tp: s.tp,
              pp: s.pp,
              cp: s.cp,
              ep: s.ep,
              etp: s.etp,
              microBatch: s.microBatch,
              schedule: s.schedule,
              virtualStages: s.virtualStages,
              recompute: s.recompute,
              tflopsPerDevice: s.tflopsPerDevice,
              mfu: s.mfu,
            },
    };
    results.push(row);
    process.stdout.write(
      `${c.name}: median ${row.medianSec.toFixed(2)} s (target ${c.targetSec} s, CPU ${row.cpuSec.toFixed(2)} s), ${row.ilpSolves} ILP solves\n`,
    );
  }
  writeResults('planning', { repeats, results });
}
