/**
 * The Python a torchtitan export ships: it compiles, every torchtitan name it imports exists in
 * torchtitan v0.2.2, and the model its registered flavor builds has the priced model's parameter
 * count (built on the meta device by torchtitan_meta_build.py; llama3's own model is sized from
 * the flavor's arguments by the FFN formula of its source). Without torch, the emitted flavors of
 * the GPT model and of torchtitan's qwen3 and deepseek_v3 are sized from their keyword arguments by
 * the layouts of those models' module definitions.
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

const MLA = { qLoraRank: 1536, kvLoraRank: 512, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128 };

/** Models torchtitan's own qwen3 and deepseek_v3 build: sized from the emitted flavor's keyword arguments. */
const expertCases: Case[] = [
  {
    name: 'a Mixtral-shaped MoE (8 experts, top 2, grouped-query attention)',
    module: 'meshplan_qwen3',
    req: requestFor(
      { layers: 4, hidden: 2048, kvHeads: 8, moe: { experts: 8, topK: 2, dropless: true } },
      2,
      2,
    ),
  },
  {
    name: 'Qwen3-style fine-grained experts with heads of 128 and a shared expert',
    module: 'meshplan_qwen3',
    req: requestFor(
      {
        ...{ layers: 4, hidden: 2048, heads: 32, kvHeads: 8, headDim: 128 },
        moe: { experts: 32, topK: 8, ffnHidden: 768, sharedExperts: 1, dropless: true },
      },
      2,
      2,
    ),
  },
  {
    name: 'Qwen3-style q and k norms, 16 experts of 768, top 8',
    module: 'meshplan_qwen3',
    req: requestFor(
      {
        ...{ layers: 4, hidden: 2048, heads: 32, kvHeads: 8, headDim: 128, qkNorm: true },
        moe: { experts: 16, topK: 8, ffnHidden: 768, dropless: true },
      },
      2,
      2,
    ),
  },
  {
    name: 'DeepSeek-V3-shaped: MLA with compressed queries, 2 leading dense blocks, 2 shared experts',
    module: 'meshplan_deepseek_v3',
    req: requestFor(
      {
        ...{ layers: 4, hidden: 2048, heads: 16, ffnHidden: 5632, mla: MLA },
        moe: { experts: 16, topK: 4, ffnHidden: 512, sharedExperts: 2, denseLayers: 2, dropless: true },
      },
      2,
      2,
    ),
  },
  {
    name: 'dense MLA without query compression (DeepSeek-V2-Lite attention)',
    module: 'meshplan_deepseek_v3',
    req: requestFor({ layers: 4, hidden: 2048, heads: 16, mla: { ...MLA, qLoraRank: null } }, 2, 2),
  },
];

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
    name: 'GeGLU with heads of 96 (not hidden / heads), RMSNorm, RoPE',
    module: 'meshplan_gpt',
    req: requestFor(
      { layers: 4, hidden: 2048, heads: 16, kvHeads: 8, headDim: 96, activation: 'geglu' },
      2,
      2,
    ),
  },
  {
    name: 'squared ReLU (Nemotron), LayerNorm, untied',
    module: 'meshplan_gpt',
    req: requestFor(
      {
        layers: 4,
        hidden: 2048,
        kvHeads: 8,
        activation: 'squared-relu',
        norm: 'layernorm',
        tiedEmbeddings: false,
      },
      2,
      2,
    ),
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
async function writeCases(all: readonly Case[]): Promise<Written[]> {
  return Promise.all(
    all.map(async (c) => {
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
let expertWritten: Written[] = [];
/** What torchtitan_meta_build.py built for each case, in one process (torch imports once). */
let built: Built[] = [];

beforeAll(async () => {
  written = await writeCases(cases);
  expertWritten = await writeCases(expertCases);
  if (!hasTorch) return;
  const args = cases.flatMap((c, i) => [written[i]!.dir, c.module]);
  built = JSON.parse(execFileSync(TORCH_PYTHON, [HARNESS, ...args], { encoding: 'utf8', timeout: 120_000 }));
});
afterAll(() => {
  for (const w of [...written, ...expertWritten]) rmSync(w.dir, { recursive: true, force: true });
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
    const files = [...written, ...expertWritten].flatMap((w) =>
      w.files.filter((f) => f.path.endsWith('.py')).map((f) => join(w.dir, f.path)),
    );
    // The 4 GPT cases ship 3 files, both Llama cases 1, each qwen3 and deepseek_v3 case 1.
    expect(files).toHaveLength(19);
    execFileSync('python3', ['-m', 'py_compile', ...files]);
  });

  it.skipIf(!hasMirror)(`imports only names torchtitan ${TAG} has (${MIRROR})`, () => {
    const missing: string[] = [];
    const checked = new Set<string>();
    for (const f of [...written, ...expertWritten].flatMap((w) => w.files)) {
      for (const [module, name] of torchtitanImports(f.content)) {
        const key = `${module}.${name}`;
        if (checked.has(key)) continue;
        checked.add(key);
        const source = mirrorSource(module);
        if (source === null || !defines(source, name)) missing.push(`${f.path}: ${key}`);
      }
    }
    expect(missing).toEqual([]);
    // The GPT model, its registration and its parallelisation import 17 names; the qwen3 and
    // deepseek_v3 registrations 7 more.
    expect(checked.size).toBe(24);
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

/** The keyword arguments of the emitted flavor (and of its MoEArgs), as Python literals read back. */
function flavorKwargs(source: string): Record<string, number | boolean | string | null> {
  const out: Record<string, number | boolean | string | null> = {};
  for (const m of source.matchAll(/^\s+(\w+)=([^(\n]+),$/gm)) {
    const raw = m[2]!;
    out[m[1]!] =
      raw === 'True'
        ? true
        : raw === 'False'
          ? false
          : raw === 'None'
            ? null
            : raw.startsWith('"')
              ? JSON.parse(raw)
              : Number(raw);
  }
  return out;
}

const num = (a: Record<string, unknown>, key: string): number => {
  const v = a[key];
  if (typeof v !== 'number') throw new Error(`${key} is not a number: ${String(v)}`);
  return v;
};

/** A SwiGLU FFN (torchtitan's models/moe FeedForward): w1, w2, w3. */
const swiglu = (dim: number, hidden: number) => 3 * dim * hidden;

/** An MoE layer of models/moe/moe.py: grouped experts, the router's gate, one shared FFN. */
function moeParams(a: Record<string, unknown>, dim: number): number {
  const experts = num(a, 'num_experts');
  const inter = num(a, 'moe_inter_dim');
  return experts * swiglu(dim, inter) + dim * experts + swiglu(dim, inter * num(a, 'num_shared_experts'));
}

/** qwen3 (models/qwen3/model/model.py): q, k, v, o of head_dim heads, q/k RMSNorms of head_dim with qk_norm, MoE or dense FFN. */
function qwen3Params(a: Record<string, unknown>): number {
  const dim = num(a, 'dim');
  const hd = num(a, 'head_dim');
  const qkNorms = a.qk_norm === true ? 2 * hd : 0;
  const attention = 2 * dim * num(a, 'n_heads') * hd + 2 * dim * num(a, 'n_kv_heads') * hd + qkNorms;
  const ffn = a.moe_enabled === true ? moeParams(a, dim) : swiglu(dim, num(a, 'hidden_dim'));
  const tables = (a.enable_weight_tying === true ? 1 : 2) * num(a, 'vocab_size') * dim;
  return tables + dim + num(a, 'n_layers') * (attention + ffn + 2 * dim);
}

/** deepseek_v3 (models/deepseek_v3/model/model.py): MLA's projections and norms, dense then MoE blocks. */
function deepseekParams(a: Record<string, unknown>): number {
  const dim = num(a, 'dim');
  const heads = num(a, 'n_heads');
  const [ql, kvl] = [num(a, 'q_lora_rank'), num(a, 'kv_lora_rank')];
  const [nope, rope, v] = [num(a, 'qk_nope_head_dim'), num(a, 'qk_rope_head_dim'), num(a, 'v_head_dim')];
  const queries = ql === 0 ? dim * heads * (nope + rope) : dim * ql + ql + ql * heads * (nope + rope);
  const attention = queries + dim * (kvl + rope) + kvl + kvl * heads * (nope + v) + heads * v * dim;
  const dense = num(a, 'n_dense_layers');
  const moe = num(a, 'n_layers') - dense;
  const blocks =
    num(a, 'n_layers') * (attention + 2 * dim) +
    dense * swiglu(dim, num(a, 'inter_dim')) +
    (moe > 0 ? moe * moeParams(a, dim) : 0);
  return 2 * num(a, 'vocab_size') * dim + dim + blocks;
}

describe.each(expertCases.map((c, i) => ({ ...c, i })))('the model torchtitan builds: $name', (c) => {
  it('has the priced parameters, sized from the emitted flavor as its own model code lays them out', () => {
    const files = expertWritten[c.i]!.files;
    expect(files.map((f) => f.path)).toEqual(['torchtitan.toml', `${c.module}.py`]);
    const kwargs = flavorKwargs(files[1]!.content);
    const params = c.module === 'meshplan_qwen3' ? qwen3Params(kwargs) : deepseekParams(kwargs);
    expect(params).toBe(
      planModel(c.req.model, { microBatch: 1, precision: c.req.training.precision }).params,
    );
  });
});

/**
 * meshplan_gpt_model.py's parameters, read off its module definitions: the token (and learned
 * position) tables, per block two norms (LayerNorm with a shift), q, k, v, o and w1, w2 (w3 when
 * gated) with their biases, the final norm and an output head unless tied.
 */
function gptParams(a: Record<string, unknown>): number {
  const dim = num(a, 'dim');
  const hd = num(a, 'head_dim');
  const [heads, kv, ffn] = [num(a, 'n_heads'), num(a, 'n_kv_heads'), num(a, 'ffn_hidden')];
  const bias = a.bias === true;
  const linear = (inputs: number, outputs: number) => inputs * outputs + (bias ? outputs : 0);
  const norm = a.norm === 'layernorm' ? 2 * dim : dim;
  const gated = a.activation === 'swiglu' || a.activation === 'geglu';
  const attention = linear(dim, heads * hd) + 2 * linear(dim, kv * hd) + linear(heads * hd, dim);
  const mlp = linear(dim, ffn) + linear(ffn, dim) + (gated ? linear(dim, ffn) : 0);
  const tables = num(a, 'vocab_size') * dim * (a.tied_embeddings === true ? 1 : 2);
  const positions = a.position === 'learned' ? num(a, 'max_seq_len') * dim : 0;
  return tables + positions + norm + num(a, 'n_layers') * (attention + mlp + 2 * norm);
}

describe.each(cases.map((c, i) => ({ ...c, i })).filter((c) => c.module === 'meshplan_gpt'))(
  'the GPT model, sized without torch: $name',
  (c) => {
    it('has the priced parameters by meshplan_gpt_model.py’s layout of the emitted flavor', () => {
      const registering = written[c.i]!.files.find((f) => f.path === 'meshplan_gpt.py')!;
      const params = gptParams(flavorKwargs(registering.content));
      expect(params).toBe(
        planModel(c.req.model, { microBatch: 1, precision: c.req.training.precision }).params,
      );
    });
  },
);
