import { writeFile } from 'node:fs/promises';
import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { createMeshplanClient } from '../client/index.ts';
import { InvalidInputError, parseOrThrow } from '../schema/errors.ts';
import { FrontierAxes, finalCount, type Sweep, type SweepFrontier, type SweepRow } from '../schema/index.ts';
import { FIELD_VIEWS } from '../view/row-fields.ts';
import { table } from './format.ts';
import { inlineModelFile } from './import-command.ts';
import { readJsonFile } from './io.ts';

interface SweepOptions {
  url: string;
  csv?: string;
  sort?: string;
  frontier?: string;
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

/** `--frontier x,y[,z]` as the frontier route's axes, checked before anything is submitted. */
function frontierAxes(flag: string): FrontierAxes {
  const [x, y, z, ...rest] = flag.split(',').map((field) => field.trim());
  if (rest.length > 0)
    throw new InvalidInputError([{ path: '--frontier', message: 'at most three fields: x,y[,z]' }], 'option');
  return parseOrThrow(FrontierAxes, { x, y, ...(z === undefined ? {} : { z }) }, 'option', ['--frontier']);
}

function formatFrontier(frontier: SweepFrontier): string {
  const paths = Object.keys(frontier.rows[0]?.point ?? {});
  const fields = frontier.axes.map((a) => a.field);
  const cell = (row: SweepRow, field: (typeof fields)[number]) => {
    const value = row[field];
    return value === null ? '—' : FIELD_VIEWS[field].format(value);
  };
  const header = [...paths, ...fields.map((f) => FIELD_VIEWS[f].label), 'dp', 'tp', 'pp'];
  const body = frontier.rows.map((r) => [
    ...paths.map((p) => String(r.point[p])),
    ...fields.map((f) => cell(r, f)),
    String(r.dp),
    String(r.tp),
    String(r.pp),
  ]);
  const over = frontier.axes.map((a) => `${a.field} (${a.direction})`).join(', ');
  return `frontier over ${over}: ${frontier.rows.length} of ${frontier.compared} rows with every value\n${table([header, ...body])}`;
}

/** `meshplan sweep SWEEP.json --url URL`: submits a sweep to a server, follows it, prints or saves the rows. */
export function registerSweepCommand(program: Command): Command {
  return program
    .command('sweep')
    .description(
      'submit a sweep ({base, grid}) to a meshplan server, follow it, print the table (or its frontier) or write CSV',
    )
    .argument('<sweep>', 'SWEEP.json: {"base": PlanRequest, "grid": {"cluster.nodes": [..], …}}')
    .option('--url <url>', 'server URL', process.env.MESHPLAN_URL ?? 'http://127.0.0.1:8080')
    .option('--csv <file>', 'write the rows as CSV instead of printing a table')
    .option('--sort <field>', 'sort rows best first by a numeric field (e.g. tokensPerSec)')
    .option(
      '--frontier <x,y[,z]>',
      'print the Pareto frontier over these row fields instead of every row (e.g. gpus,trainingDays)',
    )
    .option('--api-key <key>', 'bearer API key (also MESHPLAN_API_KEY)', process.env.MESHPLAN_API_KEY)
    .option('--poll-ms <ms>', 'how often to poll the server', (v) => Number(v), 500)
    .action(async (file: string, opts: SweepOptions) => {
      const axes = opts.frontier === undefined ? null : frontierAxes(opts.frontier);
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
      }
      if (axes !== null) {
        const { data, error } = await client.GET('/v1/sweeps/{id}/frontier', {
          params: { path: { id }, query: axes },
        });
        if (error !== undefined || data === undefined)
          throw new Error(`no frontier of sweep ${id}: ${JSON.stringify(error)}`);
        process.stdout.write(`${formatFrontier(data as SweepFrontier)}\n`);
      } else if (!opts.csv) {
        process.stdout.write(`${formatRows(sweep)}\n`);
      }
    });
}
