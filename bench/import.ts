import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { importOnnx } from '../src/import/index.ts';
import { plan } from '../src/planner/plan.ts';
import { median, writeResults } from './results-io.ts';

const MODEL = new URL('../test/fixtures/onnx/gpt-48.onnx', import.meta.url);
const TARGET_SEC = 5;

/**
 * Import + plan of a 48-layer GPT exported from PyTorch (scripts/onnx-fixtures.py: GPT-3 350M's
 * width, 48 blocks) on 64 GPUs, Alpa's testbed: 8 nodes of 8 V100s, 25 Gb/s between nodes. The
 * wall time counts everything a request costs: base64 decoding, the import for every microbatch
 * size the search tries, and the search. The load average is recorded with it: the machine is shared.
 */
export async function runImport(repeats = 5): Promise<void> {
  const bytes = readFileSync(MODEL);
  const request = {
    model: { kind: 'onnx', base64: bytes.toString('base64'), dims: { seq: 1024 }, sequenceDim: 'seq' },
    cluster: { gpu: 'V100-16GB', nodes: 8, gpusPerNode: 8, interNodeGBps: 3.125 / 8 },
    training: { globalBatch: 1024, precision: 'fp16' },
  };
  const importWalls: number[] = [];
  const walls: number[] = [];
  let last = null;
  const loadBefore = loadavg();
  for (let i = 0; i < repeats; i++) {
    let started = performance.now();
    importOnnx(bytes, { batch: 1, dims: { seq: 1024 }, precision: 'fp16', sequenceDim: 'seq' });
    importWalls.push((performance.now() - started) / 1000);
    started = performance.now();
    last = await plan(request);
    walls.push((performance.now() - started) / 1000);
  }
  const s = last!.summary;
  const result = {
    case: `48-layer GPT (ONNX without weights, ${(bytes.length / 2 ** 20).toFixed(2)} MiB) on 64 V100`,
    medianSec: median(walls),
    wallSec: walls,
    importOnlyMedianSec: median(importWalls),
    targetSec: TARGET_SEC,
    meetsTarget: median(walls) <= TARGET_SEC,
    status: last!.status,
    ilpSolves: last!.solver.ilpSolves,
    configurations: last!.solver.configurationsTried,
    plan: s === null ? null : { dp: s.dp, tp: s.tp, pp: s.pp, microBatch: s.microBatch, mfu: s.mfu },
    machine: { cpus: cpus().length, loadAverageBefore: loadBefore, loadAverageAfter: loadavg() },
  };
  process.stdout.write(
    `${result.case}: median ${result.medianSec.toFixed(2)} s (target ${TARGET_SEC} s; import alone ${result.importOnlyMedianSec.toFixed(2)} s), load ${loadBefore.map((l) => l.toFixed(1)).join(' ')}\n`,
  );
  writeResults('import', { repeats, results: [result] });
}
