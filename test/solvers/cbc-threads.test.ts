/**
 * How many threads each caller gives CBC. meshplan's own solves run it on one: CBC 2.10's parallel search
 * can deadlock starting its threads and then idle until its time limit (a CI failure: a 6-node problem
 * "timed out" after 10 s). The benchmark that replays Alpa's call gives it a thread per core, as Alpa does.
 * A stand-in `cbc` on PATH records its arguments, so the test needs no real CBC and no luck.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { linearise } from '../../solvers/backends/linearise.ts';
import { randomProblem } from '../../solvers/random.ts';

const dir = mkdtempSync(join(tmpdir(), 'meshplan-fake-cbc-'));
const argsFile = join(dir, 'args.txt');
const originalPath = process.env.PATH;

/** Answers like CBC: writes an optimal solution file where `-solution` points, after noting its arguments. */
const FAKE_CBC = `#!/bin/sh
printf '%s\\n' "$@" > '${argsFile}'
while [ $# -gt 0 ]; do
  if [ "$1" = "-solution" ]; then printf 'Optimal - objective value 1\\n      0 x   1   0\\n' > "$2"; fi
  shift
done
`;

const TWO_STRATEGIES = linearise(
  randomProblem({ seed: 1, nodes: 2, strategies: [2, 2], edgeProbability: 1 }),
);

function threadsArgument(): string {
  const args = readFileSync(argsFile, 'utf8').split('\n');
  return args[args.indexOf('-threads') + 1]!;
}

beforeAll(() => {
  writeFileSync(join(dir, 'cbc'), FAKE_CBC);
  chmodSync(join(dir, 'cbc'), 0o755);
  // cbc.ts looks the binary up once per process; this file's fork imports it only after PATH is set.
  process.env.PATH = `${dir}:${originalPath}`;
});

afterAll(() => {
  process.env.PATH = originalPath;
  rmSync(dir, { recursive: true, force: true });
});

describe('CBC threads', () => {
  it("are one for meshplan's own solves", async () => {
    const { cbcBackend, cbcPath } = await import('../../solvers/backends/cbc.ts');
    expect(cbcPath()).toBe(join(dir, 'cbc'));
    const result = await cbcBackend.solve(TWO_STRATEGIES, 5);
    expect(result.status).toBe('optimal');
    expect(threadsArgument()).toBe('1');
  });

  it('are what a caller asks for', async () => {
    const { runCbc } = await import('../../solvers/backends/cbc.ts');
    await runCbc('minimize\n obj: x\nend\n', 5, { threads: 3 });
    expect(threadsArgument()).toBe('3');
  });
});
