import { writeFile } from 'node:fs/promises';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { createMeshplanClient } from '../client/index.ts';
import { InvalidInputError } from '../schema/errors.ts';
import { finalCount, type Sweep } from '../schema/index.ts';
import { table } from './format.ts';
import { inlineModelFile } from './import-command.ts';
import { readJsonFile } from './io.ts';

interface SweepOptions {
  url: string;
  csv?: string;
  sort?: string;
  apiKey?: string;
  pollMs: number;
}

function formatRows(sweep: Sweep): string {
  const paths = Object.keys(sweep.rows[0]?.point ?? {});
  const header = [...paths, 'status', 'dp', 'tp', 'pp', 'step s', 'tokens/s', 'TFLOP/s', 'MFU'];
  const fmt = (v: number | null, digits: number) => (v === null ? '—' : v.toFixed(digits));
  const body = sweep.rows.map((r) => [
    ...paths.map((p) => String(r.point[p])),
    r.planStatus ?? r.status,
    fmt(r.dp, 0),
    fmt(r.tp, 0),
    fmt(r.pp, 0),
    fmt(r.stepTimeSec, 3),
    fmt(r.tokensPerSec, 0),
    fmt(r.tflopsPerDevice, 1),
    r.mfu === null ? '—' : `${(r.mfu * 100).toFixed(1)}%`,
  ]);
  return table([header, ...body]);
}

/** `meshplan sweep SWEEP.json --url URL`: submits a sweep to a server, follows it, prints or saves the rows. */
export function registerSweepCommand(program: Command): Command {
  return program
    .command('sweep')
    .description(
      'submit a sweep ({base, grid}) to a meshplan server, follow it, print the table or write CSV',
    )
    .argument('<sweep>', 'SWEEP.json: {"base": PlanRequest, "grid": {"cluster.nodes": [..], …}}')
    .option('--url <url>', 'server URL', process.env.MESHPLAN_URL ?? 'http://127.0.0.1:8080')
    .option('--csv <file>', 'write the rows as CSV instead of printing a table')
    .option('--sort <field>', 'sort rows best first by a numeric field (e.g. tokensPerSec)')
    .option('--api-key <key>', 'bearer API key (also MESHPLAN_API_KEY)', process.env.MESHPLAN_API_KEY)
    .option('--poll-ms <ms>', 'how often to poll the server', (v) => Number(v), 500)
    .action(async (file: string, opts: SweepOptions) => {
      const read = await readJsonFile(file, 'sweep');
      // The sweep's base request may name its ONNX model by path, as a plan request may.
      const base = (read as { base?: unknown } | null)?.base;
      const body =
        base === undefined ? read : { ...(read as object), base: await inlineModelFile(base, file) };
      const client = createMeshplanClient(opts.url, opts.apiKey ? { apiKey: opts.apiKey } : {});
      const submitted = await client.POST('/v1/sweeps', { body: body as never });
      if (submitted.error !== undefined || submitted.data === undefined) {
        const problem = submitted.error as
          | { errors?: { path: string; message: string }[]; detail?: string }
          | undefined;
        throw new InvalidInputError(
          problem?.errors ?? [
            { path: 'sweep', message: problem?.detail ?? `server answered ${submitted.response.status}` },
          ],
          'sweep',
        );
      }
      const id = submitted.data.id;
      const bar = process.stderr.isTTY
        ? new SingleBar(
            { format: 'sweep [{bar}] {value}/{total} points', hideCursor: true },
            Presets.shades_classic,
          )
        : null;
      bar?.start(submitted.data.points, 0);
      const query = opts.sort ? { sort: opts.sort } : {};
      let sweep = submitted.data as Sweep;
      while (finalCount(sweep.counts) < sweep.points) {
        await new Promise((r) => setTimeout(r, opts.pollMs));
        const { data, error } = await client.GET('/v1/sweeps/{id}', {
          params: { path: { id }, query: query as never },
        });
        if (error !== undefined || data === undefined)
          throw new Error(`lost sweep ${id}: ${JSON.stringify(error)}`);
        sweep = data as Sweep;
        bar?.update(finalCount(sweep.counts));
      }
      bar?.stop();
      if (opts.csv) {
        const res = await fetch(
          `${opts.url}/v1/sweeps/${id}/rows.csv${opts.sort ? `?sort=${opts.sort}` : ''}`,
          {
            headers: opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {},
          },
        );
        await writeFile(opts.csv, await res.text());
        process.stdout.write(`${sweep.rows.length} rows written to ${opts.csv}\n`);
      } else {
        process.stdout.write(`${formatRows(sweep)}\n`);
      }
    });
}
