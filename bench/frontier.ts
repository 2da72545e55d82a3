import { execFileSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createMeshplanClient, type MeshplanClient } from '../src/client/index.ts';
import { type FrontierAxes, finalCount, type SweepFrontier } from '../src/schema/index.ts';
import { startMeshplan } from '../test/e2e/processes.ts';
import { writeResults } from './results-io.ts';
import { withService } from './service-processes.ts';

const SWEEP_FILE = 'examples/llama3-70b-frontier.sweep.json';
const TARGET_SEC = 60;
const AXES: readonly FrontierAxes[] = [
  { x: 'gpus', y: 'trainingDays' },
  { x: 'costUsd', y: 'trainingDays' },
];

/** The machine's load as `uptime` prints it: the cores are shared with whoever else runs. */
function uptime(): string {
  return execFileSync('uptime', { encoding: 'utf8' }).trim();
}

async function frontier(client: MeshplanClient, id: string, axes: FrontierAxes): Promise<SweepFrontier> {
  const { data, error } = await client.GET('/v1/sweeps/{id}/frontier', {
    params: { path: { id }, query: axes },
  });
  if (data === undefined) throw new Error(`no frontier: ${JSON.stringify(error)}`);
  return data as SweepFrontier;
}

/** What a frontier row says, for the results file. */
function brief(row: SweepFrontier['rows'][number]) {
  const { point, gpus, trainingDays, costUsd, stepTimeSec, mfu, peakMemoryBytes, dp, tp, pp } = row;
  return { point, gpus, trainingDays, costUsd, stepTimeSec, mfu, peakMemoryBytes, dp, tp, pp };
}

/**
 * Issue 18's check: the frontier of Llama-3-70B on 64 to 4,096 H100 (7 cluster sizes × 3 global
 * batches, 15T tokens at $2.50 per GPU-hour) through the real API with two BullMQ workers, from the
 * sweep's submission to its frontier in ≤ 60 s; then `meshplan sweep --frontier` prints it.
 */
export async function runFrontier(): Promise<void> {
  const sweepBody: unknown = JSON.parse(await readFile(new URL(`../${SWEEP_FILE}`, import.meta.url), 'utf8'));
  const loadBefore = uptime();
  const measured = await withService('bench-frontier', 2, async ({ url }) => {
    const client = createMeshplanClient(url);
    const started = performance.now();
    const submitted = await client.POST('/v1/sweeps', { body: sweepBody as never });
    if (submitted.data === undefined) throw new Error(`sweep refused: ${JSON.stringify(submitted.error)}`);
    const { id, points } = submitted.data;
    let counts = submitted.data.counts;
    while (finalCount(counts) < points) {
      if (performance.now() - started > 600_000) throw new Error('the sweep did not finish in 10 minutes');
      await new Promise((r) => setTimeout(r, 250));
      const { data } = await client.GET('/v1/sweeps/{id}', { params: { path: { id } } });
      counts = data?.counts ?? counts;
    }
    const frontiers = [];
    for (const axes of AXES) frontiers.push(await frontier(client, id, axes));
    const endToEndSec = (performance.now() - started) / 1000;
    // The CLI asks the same server: the sweep is a known one, so it prints the finished frontier.
    const cli = startMeshplan(['sweep', SWEEP_FILE, '--url', url, '--frontier', 'gpus,trainingDays'], {});
    const code = await new Promise((resolve) => cli.once('exit', resolve));
    if (code !== 0) throw new Error(`meshplan sweep --frontier exited ${code}: ${cli.output.join('')}`);
    return { points, counts, endToEndSec, frontiers, cliOutput: cli.output.join('') };
  });
  const loadAfter = uptime();
  process.stdout.write(
    `Llama-3-70B frontier, ${measured.points} points, 2 workers: ${measured.endToEndSec.toFixed(1)} s end to end (target ≤ ${TARGET_SEC} s)\n` +
      `uptime before: ${loadBefore}\nuptime after:  ${loadAfter}\n$ meshplan sweep ${SWEEP_FILE} --url … --frontier gpus,trainingDays\n${measured.cliOutput}`,
  );
  writeResults('frontier', {
    sweep: SWEEP_FILE,
    workers: 2,
    targetSec: TARGET_SEC,
    endToEndSec: measured.endToEndSec,
    meetsTarget: measured.endToEndSec <= TARGET_SEC,
    points: measured.points,
    counts: measured.counts,
    uptimeBefore: loadBefore,
    uptimeAfter: loadAfter,
    frontiers: measured.frontiers.map((f) => ({
      axes: f.axes,
      compared: f.compared,
      rows: f.rows.map(brief),
    })),
  });
}
