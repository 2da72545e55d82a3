/**
 * The package as someone else gets it: `npm pack` (which builds the client at prepack), the tarball
 * installed by npm into an empty folder, then `meshplan/client` imported by plain Node (ESM) to read
 * the catalog of a listening server, and type-checked by a strict TypeScript project.
 *
 * The install is offline: the tarball's own dependencies are put in place first as links to this
 * checkout's node_modules (npm then takes them as installed and fetches nothing), so the test needs
 * no registry and stays fast; what it checks is what npm unpacks from the tarball and how `exports`
 * resolves.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GPU_CATALOG } from '../../src/cluster/catalog.ts';
import { buildApp, type MeshplanApp } from '../../src/http/app.ts';
import { MemoryQueue } from '../http/memory-queue.ts';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;
const TSC = join(ROOT, 'node_modules/typescript/bin/tsc');

const CONSUMER_SCRIPT = `import { createMeshplanClient } from 'meshplan/client';
const { data, error } = await createMeshplanClient(process.argv[2]).GET('/v1/gpus');
if (error) throw new Error(JSON.stringify(error));
console.log(JSON.stringify(data.map((gpu) => gpu.id)));
`;

const CONSUMER_PROGRAM = `import { createMeshplanClient, type components } from 'meshplan/client';

type Plan = components['schemas']['Plan'];
const client = createMeshplanClient('http://127.0.0.1:8080', { apiKey: 'key' });

export async function firstStageDevices(): Promise<number> {
  const { data } = await client.POST('/v1/estimates', {
    body: {
      model: { kind: 'transformer', layers: 4, hidden: 256, heads: 4, vocab: 1000, seqLen: 128 },
      cluster: { gpu: 'A100-80GB', nodes: 1, gpusPerNode: 2 },
      training: { globalBatch: 8 },
      parallel: { tp: 2, pp: 1, dp: 1, microBatch: 1 },
    },
  });
  const plan: Plan | undefined = data;
  const [a0, a1] = plan?.stages[0]?.logicalMesh ?? [0, 0];
  return a0 * a1;
}

// The types are real, not \`any\`: each of these lines must be an error.
// @ts-expect-error not a route of the API
client.GET('/v1/nope');
// @ts-expect-error a plan request needs a cluster
client.POST('/v1/plans', { body: { model: { kind: 'transformer' }, training: { globalBatch: 8 } } });
`;

const STRICT_TSCONFIG = {
  compilerOptions: {
    strict: true,
    noEmit: true,
    target: 'ES2022',
    module: 'NodeNext',
    moduleResolution: 'NodeNext',
    lib: ['ES2022', 'DOM'],
    types: [],
  },
  files: ['program.ts'],
};

describe('npm pack → npm install in an empty folder → meshplan/client', () => {
  let dir = '';
  let consumer = '';
  let app: MeshplanApp;
  let url = '';

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'meshplan-pack-'));
    consumer = join(dir, 'consumer');
    const packed = await run('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT });
    const [{ filename }] = JSON.parse(packed.stdout) as [{ filename: string }];
    const manifest = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    await mkdir(join(consumer, 'node_modules'), { recursive: true });
    await writeFile(
      join(consumer, 'package.json'),
      JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
    );
    for (const name of Object.keys(manifest.dependencies)) {
      await mkdir(dirname(join(consumer, 'node_modules', name)), { recursive: true });
      await symlink(join(ROOT, 'node_modules', name), join(consumer, 'node_modules', name), 'dir');
    }
    await run(
      'npm',
      [
        'install',
        '--offline',
        '--no-audit',
        '--no-fund',
        '--omit=dev',
        '--ignore-scripts',
        join(dir, filename),
      ],
      { cwd: consumer },
    );
    app = buildApp({ queue: new MemoryQueue() });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('unpacks the built client, not a link to this checkout', async () => {
    const installed = join(consumer, 'node_modules/meshplan');
    expect((await stat(installed)).isDirectory()).toBe(true);
    expect((await stat(join(installed, 'dist/client/index.js'))).isFile()).toBe(true);
    expect((await stat(join(installed, 'dist/client/index.d.ts'))).isFile()).toBe(true);
  });

  it('loads in plain Node (ESM) and reads the catalog of a running server', async () => {
    await writeFile(join(consumer, 'consumer.mjs'), CONSUMER_SCRIPT);
    const { stdout } = await run(process.execPath, ['consumer.mjs', url], { cwd: consumer });
    expect(JSON.parse(stdout)).toEqual(Object.keys(GPU_CATALOG));
  });

  it('type-checks a strict TypeScript project against it', async () => {
    await writeFile(join(consumer, 'program.ts'), CONSUMER_PROGRAM);
    await writeFile(join(consumer, 'tsconfig.json'), JSON.stringify(STRICT_TSCONFIG));
    const compiled = await run(process.execPath, [TSC, '-p', consumer]).then(
      () => '',
      (error: { stdout?: string }) => error.stdout ?? String(error),
    );
    expect(compiled).toBe('');
  });
});
