/**
 * Bad ONNX files are bad input wherever they arrive: the importer names the problem, the API answers
 * 400 with it at its field, the CLI exits 2 with it. An op the importer cannot map is made by
 * re-encoding a fixture with protobufjs and ONNX's schema (no hand-written wire bytes).
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import protobuf from 'protobufjs';
import { afterEach, describe, expect, it } from 'vitest';
import type { MeshplanApp } from '../../src/http/app.ts';
import { importOnnx } from '../../src/import/index.ts';
import { InvalidInputError } from '../../src/schema/errors.ts';
import { expectProblem, testApp } from '../http/fixtures.ts';
import { fixtureBytes, fixturePath } from './fixtures.ts';

const ModelProto = protobuf
  .parse(readFileSync(new URL('../../src/import/onnx.proto', import.meta.url), 'utf8'))
  .root.lookupType('onnx.ModelProto');

/** The GPT fixture with its first Softmax node turned into a Hardmax (an op the importer lacks). */
function withUnmappedOp(): Buffer {
  const model = ModelProto.decode(fixtureBytes('gpt.onnx')) as unknown as {
    graph: { node: { opType: string; name: string }[] };
  };
  const node = model.graph.node.find((n) => n.opType === 'Softmax')!;
  node.opType = 'Hardmax';
  return Buffer.from(ModelProto.encode(model as unknown as protobuf.Message).finish());
}

const gpt = fixtureBytes('gpt.onnx');
const BAD: readonly (readonly [string, Buffer, Record<string, unknown>, string, RegExp])[] = [
  ['not ONNX', Buffer.from('{"model": "this is JSON, not ONNX"}'), { seq: 64 }, 'model', /not .*ONNX/],
  ['truncated', gpt.subarray(0, Math.floor(gpt.length * 0.6)), { seq: 64 }, 'model', /truncated/],
  [
    'an unmapped op',
    withUnmappedOp(),
    { seq: 64 },
    'model.nodes./blocks.0/attn/Softmax',
    /Hardmax node "\/blocks\.0\/attn\/Softmax": operator Hardmax is not supported/,
  ],
  ['a symbolic dim left unbound', gpt, {}, 'model.dims.seq', /symbolic dim "seq" .* is not bound/],
];

let app: MeshplanApp | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

describe('bad ONNX files', () => {
  it.each(BAD)('%s: the importer names the problem', (_what, bytes, dims, path, message) => {
    let error: unknown;
    try {
      importOnnx(bytes, { batch: 1, dims: dims as Record<string, number>, precision: 'bf16' });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidInputError);
    const issue = (error as InvalidInputError).issues.find((i) => i.path === path);
    expect(issue?.message).toMatch(message);
  });

  it.each(BAD)('%s: the API answers 400 at the field', async (_what, bytes, dims, path, message) => {
    app = testApp().app;
    const payload = {
      model: { kind: 'onnx', base64: bytes.toString('base64'), dims },
      cluster: { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 8 },
      training: { globalBatch: 64 },
    };
    const problem = expectProblem(await app.inject({ method: 'POST', url: '/v1/plans', payload }), 400);
    expect(problem.errors?.find((e) => e.path === path)?.message).toMatch(message);
  });

  it("the API takes the file as base64 only: a path is the CLI's to read", async () => {
    app = testApp().app;
    const payload = {
      model: { kind: 'onnx', path: 'model.onnx' },
      cluster: { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 8 },
      training: { globalBatch: 64 },
    };
    const problem = expectProblem(await app.inject({ method: 'POST', url: '/v1/plans', payload }), 400);
    expect(problem.errors?.find((e) => e.path === 'model.path')?.message).toMatch(/base64/);
  });
});

const run = promisify(execFile);
const BIN = new URL('../../bin/meshplan.js', import.meta.url).pathname;

async function meshplan(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, ...args], { maxBuffer: 16 * 2 ** 20 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('meshplan import and ONNX requests on the command line', () => {
  it('import prints the graph with its dims bound, as a model a request can use', async () => {
    const { code, stdout } = await meshplan([
      'import',
      fixturePath('gpt.onnx'),
      '--dim',
      'seq=64',
      '--batch',
      '2',
      '--json',
    ]);
    expect(code).toBe(0);
    const model = JSON.parse(stdout);
    expect(model.kind).toBe('graph');
    const tokens = model.graph.tensors.find((t: { name: string }) => t.name === 'tokens');
    expect(tokens.shape).toEqual([2, 64]);
  });

  it('import exits 2 naming an unbound dim', async () => {
    const { code, stderr } = await meshplan(['import', fixturePath('gpt.onnx')]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/model\.dims\.seq: symbolic dim "seq"/);
  });

  it('plan reads the model file relative to the request file and exits 2 on a bad one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'meshplan-onnx-'));
    writeFileSync(join(dir, 'model.onnx'), gpt.subarray(0, 1000));
    const request = {
      model: { kind: 'onnx', path: 'model.onnx', dims: { seq: 64 }, sequenceDim: 'seq' },
      cluster: { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 8 },
      training: { globalBatch: 64 },
    };
    writeFileSync(join(dir, 'request.json'), JSON.stringify(request));
    const { code, stderr } = await meshplan(['plan', join(dir, 'request.json')]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/truncated/);
    copyFileSync(fixturePath('gpt.onnx'), join(dir, 'model.onnx'));
    const ok = await meshplan(['plan', join(dir, 'request.json'), '--json']);
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout).summary.tokensPerSec).toBeGreaterThan(0);
  });
});
