/**
 * The README's Python example, taken from README.md as it stands (so the two cannot drift apart) and
 * run by python3 against a real `meshplan serve`. What it prints is checked against the job as the
 * server returns it.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlanJob } from '../../src/schema/index.ts';
import { freePort, startMeshplan, stop, waitUntilReady } from './processes.ts';

const run = promisify(execFile);
const ROOT = new URL('../../', import.meta.url).pathname;

/** The one ```python block of the README that talks to the API. */
async function readmeSnippet(): Promise<string> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/^```python\n([\s\S]*?)^```$/gm)].map((match) => match[1]!);
  const snippets = blocks.filter((block) => block.includes('urllib.request'));
  expect(snippets).toHaveLength(1);
  return snippets[0]!;
}

describe("the README's Python example (standard library only)", () => {
  let server: ReturnType<typeof startMeshplan> | null = null;
  let url = '';
  let dir = '';

  beforeAll(async () => {
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    server = startMeshplan(['serve', '--port', String(port)], { REDIS_URL: '', LOG_LEVEL: 'warn' });
    dir = await mkdtemp(join(tmpdir(), 'meshplan-python-'));
    await waitUntilReady(url);
  });

  afterAll(async () => {
    if (server) await stop(server);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('submits a plan, polls it and prints what the server holds', async () => {
    const script = join(dir, 'meshplan_example.py');
    await writeFile(script, await readmeSnippet());
    // From the checkout's root, like a reader who has just cloned it (the example reads examples/).
    const { stdout } = await run('python3', [script], {
      cwd: ROOT,
      env: { ...process.env, MESHPLAN_URL: url },
      timeout: 60_000,
    });
    const [first, ...stageLines] = stdout.trimEnd().split('\n');
    const id = /^job (\S+):/.exec(first ?? '')?.[1];
    expect(id).toBeDefined();
    const job = (await (await fetch(`${url}/v1/plans/${id}`)).json()) as PlanJob;
    const plan = job.plan!;
    const summary = plan.summary!;
    expect(first).toBe(
      `job ${id}: ${plan.status}, dp ${summary.dp} tp ${summary.tp} pp ${summary.pp}, ` +
        `step ${summary.stepTimeSec.toFixed(3)} s, MFU ${(summary.mfu * 100).toFixed(1)}%`,
    );
    expect(stageLines).toEqual(
      plan.stages.map(
        (stage) =>
          `  ${stage.layerNames[0]}..${stage.layerNames[1]} on a ${stage.logicalMesh[0]}x${stage.logicalMesh[1]} mesh`,
      ),
    );
    expect(stageLines.length).toBeGreaterThan(0);
  });
});
