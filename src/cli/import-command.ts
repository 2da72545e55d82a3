import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type Command, InvalidArgumentError } from 'commander';
import { InvalidInputError } from '../schema/errors.ts';
import { positiveInteger } from './arg-parsers.ts';
import { table } from './format.ts';
import { inFile } from './io.ts';

interface ImportOptions {
  batchDim?: string;
  dim: Record<string, number>;
  batch: number;
  json?: boolean;
}

async function readModelFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new InvalidInputError([
      { path: 'model.path', message: `cannot read ${path}: ${code ?? String(error)}` },
    ]);
  }
}

/**
 * A request whose ONNX model names a file (`"path"`, relative to the request file) with the file's
 * bytes inlined as `"base64"`, as the planner and the API take it.
 */
export async function inlineModelFile(request: unknown, requestFile: string): Promise<unknown> {
  if (typeof request !== 'object' || request === null) return request;
  const model = (request as { model?: unknown }).model;
  if (typeof model !== 'object' || model === null) return request;
  const { kind, path, ...rest } = model as { kind?: unknown; path?: unknown };
  if (kind !== 'onnx' || typeof path !== 'string') return request;
  const bytes = await readModelFile(resolve(dirname(requestFile), path));
  return { ...request, model: { kind, ...rest, base64: bytes.toString('base64') } };
}

function collectDim(value: string, dims: Record<string, number>): Record<string, number> {
  const match = /^([^=\s]+)=(\d+)$/.exec(value);
  if (match === null || Number(match[2]) < 1)
    throw new InvalidArgumentError('expected NAME=VALUE with VALUE ≥ 1');
  return { ...dims, [match[1]!]: Number(match[2]) };
}

/** `meshplan import MODEL.onnx`: the ONNX model as meshplan's operator graph, symbolic dims bound. */
export function registerImportCommand(program: Command): Command {
  return program
    .command('import')
    .description(
      'read an ONNX model (torch.onnx.export) and print it as an operator graph with its dims bound',
    )
    .argument('<model>', 'MODEL.onnx, with or without weights')
    .option('--batch-dim <name>', 'the symbolic dim counting samples (default: first dim of the first input)')
    .option('--dim <name=value>', 'size of a symbolic dim (repeatable), e.g. --dim seq=2048', collectDim, {})
    .option('--batch <n>', 'samples bound to the batch dim', positiveInteger, 1)
    .option('--json', 'print {"kind": "graph", "graph": …}, a model a request can use as it is')
    .action(async (file: string, opts: ImportOptions) => {
      const [{ importOnnx }, { buildGraph, paramElements }, { repeatedBlocks }] = await Promise.all([
        import('../import/index.ts'),
        import('../graph/graph.ts'),
        import('../graph/blocks.ts'),
      ]);
      let imported: ReturnType<typeof importOnnx>;
      try {
        imported = importOnnx(await readModelFile(file), {
          batch: opts.batch,
          dims: opts.dim,
          precision: 'bf16',
          ...(opts.batchDim !== undefined ? { batchDim: opts.batchDim } : {}),
        });
      } catch (error) {
        throw inFile(error, file);
      }
      if (opts.json) {
        process.stdout.write(`${JSON.stringify({ kind: 'graph', graph: imported.graph }, null, 2)}\n`);
        return;
      }
      const graph = buildGraph(imported.graph);
      const params = paramElements(graph);
      const flops = graph.ops.reduce((s, op) => s + op.flops, 0);
      const runs = repeatedBlocks(graph);
      const lines = [
        `${graph.name}: ${graph.ops.length} ops, ${graph.tensors.size} tensors, ${(params / 1e6).toFixed(2)}M parameters`,
        `batch dim "${imported.batchDim}" = ${opts.batch}; forward ${(flops / 1e9).toFixed(2)} GFLOP, ${(flops / opts.batch / 1e9).toFixed(2)} GFLOP per sample`,
        ...runs.map((r) => `repeated: ${r.copies} blocks of ${r.period} ops from op ${r.start}`),
        '',
        table([
          ['op', 'kind', 'einsum', 'GFLOP'],
          ...graph.ops.map((op) => [
            op.name,
            op.kind,
            `${op.einsum.inputs.join(',')}->${op.einsum.output}`,
            (op.flops / 1e9).toFixed(3),
          ]),
        ]),
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
