/**
 * The Python a torchtitan export ships: it compiles, every torchtitan name it imports exists in
 * torchtitan v0.2.2, and the model its registered flavor builds has the priced model's parameter
 * count (built on the meta device by torchtitan_meta_build.py; llama3's own model is sized from
 * the flavor's arguments by the FFN formula of its source).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildExport } from '../../src/frameworks/index.ts';
import { planModel } from '../../src/model/planned.ts';
import type { ExportFile, PlanRequest, Summary } from '../../src/schema/index.ts';
import { plannedStages, summaryOf } from '../exports/fixtures.ts';
import { requestFor } from './torchtitan-cases.ts';
import { feedForwardWidth } from './torchtitan-oracle.ts';

const MIRROR = '/work/.mirror/pytorch+torchtitan/repo';
const TAG = 'v0.2.2';
/** Debian's python with torch; the `python3` on PATH has none. */
const TORCH_PYTHON = '/usr/bin/python3';
const HARNESS = new URL('./torchtitan_meta_build.py', import.meta.url).pathname;

const fsdpTp8: Partial<Summary> = {
  dp: 2,
  tp: 8,
  pp: 1,
  gpus: 16,
  microBatch: 1,
  microbatches: 1,
  zero: 3,
  sequenceParallel: true,
};

interface Case {
  readonly name: string;
  readonly req: PlanRequest;
  readonly module: string;
}

const cases: Case[] = [
  {
    name: 'GPT-3 175B (LayerNorm, GELU, biases, learned positions, tied, dropout)',
    module: 'meshplan_gpt',
    req: requestFor(
      { layers: 96, hidden: 12288, heads: 96, kvHeads: 96, vocab: 51200, seqLen: 2048, activation: 'gelu' },
      2,
      2,
    ),
  },
  {
    name: 'SwiGLU with RMSNorm, RoPE, GQA and biases, untied, no dropout',
    module: 'meshplan_gpt',
    req: requestFor({ layers: 4, hidden: 2048, kvHeads: 8, bias: true }, 2, 2),
  },
  {
    name: 'a Llama of sizes torchtitan does not ship (FFN by Llama’s rule)',
    module: 'meshplan_llama3',
    req: requestFor({ layers: 4, hidden: 2048, kvHeads: 8 }, 2, 2),
  },
  {
    name: 'a Llama with an FFN width no multiple of 256 gives',
    module: 'meshplan_llama3',
    req: requestFor({ layers: 4, hidden: 4096, heads: 32, kvHeads: 8, ffnHidden: 10000 }, 2, 2),
  },
];

const hasTorch = spawnSync(TORCH_PYTHON, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
const hasMirror = existsSync(MIRROR);

interface Written {
  readonly files: readonly ExportFile[];
  readonly dir: string;
}

/** Each case's export (one stage, tp 8, FSDP over 2), written to a directory of its own. */
async function writeCases(): Promise<Written[]> {
  return Promise.all(
    cases.map(async (c) => {
      if (c.req.model.kind !== 'transformer') throw new Error('a transformer');
      const stages = await plannedStages(c.req, 1, [[0, c.req.model.layers + 1]], [1, 8], 'megatron-sp');
      const out = buildExport('torchtitan', c.req, summaryOf(fsdpTp8), stages);
      if (!out.expressible) throw new Error(out.notes.join(' '));
      const dir = mkdtempSync(join(tmpdir(), 'meshplan-torchtitan-'));
      for (const f of out.files) writeFileSync(join(dir, f.path), f.content);
      return { files: out.files, dir };
    }),
  );
}

interface Built {
  readonly spec: string;
  readonly flavors: Record<string, Record<string, number | null>>;
  readonly params: number | null;
}

let written: Written[] = [];
/** What torchtitan_meta_build.py built for each case, in one process (torch imports once). */
let built: Built[] = [];

beforeAll(async () => {
  written = await writeCases();
  if (!hasTorch) return;
  const args = cases.flatMap((c, i) => [written[i]!.dir, c.module]);
  built = JSON.parse(execFileSync(TORCH_PYTHON, [HARNESS, ...args], { encoding: 'utf8', timeout: 120_000 }));
});
afterAll(() => {
  for (const w of written) rmSync(w.dir, { recursive: true, force: true });
});

/** The names of an import list ("a, b" or the inside of its parentheses), comments dropped. */
const names = (list: string): string[] =>
  list
    .replace(/#.*$/gm, '')
    .split(/[\s,]+/)
    .filter((n) => n.length > 0);

/** `from torchtitan.x import a, b` of the emitted Python: [module, name] pairs. */
function torchtitanImports(source: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const m of source.matchAll(/^from (torchtitan[\w.]*) import (?:\(([^)]*)\)|(.*)$)/gm)) {
    for (const name of names(m[2] ?? m[3]!)) pairs.push([m[1]!, name]);
  }
  return pairs;
}

function mirrorSource(module: string): string | null {
  const path = module.replaceAll('.', '/');
  for (const file of [`${path}.py`, `${path}/__init__.py`]) {
    const out = spawnSync('git', ['-C', MIRROR, 'show', `${TAG}:${file}`], { encoding: 'utf8' });
    if (out.status === 0) return out.stdout;
  }
  return null;
}

/** Defined at the module's top level (def, class, assignment) or imported into it. */
function defines(source: string, name: string): boolean {
  const defined = new RegExp(`^(?:def|class)\\s+${name}\\b|^${name}\\s*(?::[^=\\n]*)?=`, 'm');
  const imported = [...source.matchAll(/^(?:from\s+\S+\s+)?import\s+(?:\(([^)]*)\)|(.*)$)/gm)].some((m) =>
    names(m[1] ?? m[2]!).includes(name),
  );
  return defined.test(source) || imported;
}

/** Llama's parameters as torchtitan's llama3 lays them out, from the flavor's arguments. */
function llama3Params(a: Record<string, number | null>): number {
  const dim = a.dim!;
  const headDim = dim / a.n_heads!;
  const ffn = feedForwardWidth(dim, a.multiple_of!, a.ffn_dim_multiplier ?? null);
  const attention = dim * a.n_heads! * headDim * 2 + 2 * dim * a.n_kv_heads! * headDim;
  const block = attention + 3 * dim * ffn + 2 * dim;
  return 2 * a.vocab_size! * dim + a.n_layers! * block + dim;
}

describe('torchtitan companion Python', () => {
  it('compiles (python3 -m py_compile)', () => {
    const files = written.flatMap((w) =>
      w.files.filter((f) => f.path.endsWith('.py')).map((f) => join(w.dir, f.path)),
    );
    // Both GPT cases ship 3 files, both Llama cases 1.
    expect(files).toHaveLength(8);
    execFileSync('python3', ['-m', 'py_compile', ...files]);
  });

  it.skipIf(!hasMirror)(`imports only names torchtitan ${TAG} has (${MIRROR})`, () => {
    const missing: string[] = [];
    const checked = new Set<string>();
    for (const f of written.flatMap((w) => w.files)) {
      for (const [module, name] of torchtitanImports(f.content)) {
        const key = `${module}.${name}`;
        if (checked.has(key)) continue;
        checked.add(key);
        const source = mirrorSource(module);
        if (source === null || !defines(source, name)) missing.push(`${f.path}: ${key}`);
      }
    }
    expect(missing).toEqual([]);
    // The model, its registration and its parallelisation together import 17 names.
    expect(checked.size).toBe(17);
  });
});

describe.each(cases.map((c, i) => ({ ...c, i })))('the model torchtitan builds: $name', (c) => {
  it.skipIf(!hasTorch)(`has the priced parameters, built on the meta device (${TORCH_PYTHON})`, () => {
    const b = built[c.i]!;
    expect(b.spec).toBe(c.module);
    const flavor = b.flavors.planned!;
    const params = b.params ?? llama3Params(flavor);
    expect(params).toBe(
      planModel(c.req.model, { microBatch: 1, precision: c.req.training.precision }).params,
    );
    if (c.req.model.kind === 'transformer' && c.req.model.ffnHidden !== undefined) {
      const width =
        b.params === null
          ? feedForwardWidth(flavor.dim!, flavor.multiple_of!, flavor.ffn_dim_multiplier ?? null)
          : flavor.ffn_hidden;
      expect(width).toBe(c.req.model.ffnHidden);
    }
  });
});

if (!hasTorch) {
  it.skip(`${TORCH_PYTHON} has no torch: the meta-device build of the exported models was not run`, () => {});
}
