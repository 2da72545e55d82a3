import { describe, expect, it } from 'vitest';
import gptBlock from '../../examples/gpt-block.graph.json' with { type: 'json' };
import mlp from '../../examples/mlp.graph.json' with { type: 'json' };
import { parseCluster } from '../../src/cluster/index.ts';
import { savedTensors } from '../../src/cost/saved.ts';
import { coarsen } from '../../src/graph/coarsen.ts';
import { parseGraph } from '../../src/graph/index.ts';
import { issuesOf } from '../support/input-issues.ts';

const base = () =>
  structuredClone(mlp) as { tensors: Record<string, unknown>[]; ops: Record<string, unknown>[] } & Record<
    string,
    unknown
  >;

describe('graph validation', () => {
  it('accepts the examples and orders ops topologically', () => {
    const g = parseGraph(gptBlock);
    expect(g.ops).toHaveLength(17);
    for (const op of g.ops) {
      for (const t of op.inputs) {
        const p = g.tensors.get(t)!.producer;
        if (p !== null) expect(p).toBeLessThan(op.index);
      }
    }
  });

  it('reorders ops listed out of order', () => {
    const spec = base();
    spec.ops.reverse();
    expect(parseGraph(spec).ops.map((o) => o.name)).toEqual(['fc1', 'gelu', 'fc2']);
  });

  it('counts 2·Π dims FLOPs for contractions and Π dims for elementwise ops', () => {
    const g = parseGraph(mlp);
    const [b, s, h, f] = [4, 512, 8192, 32768];
    expect(g.ops[0]!.flops).toBe(2 * b * s * h * f);
    expect(g.ops[1]!.flops).toBe(b * s * f);
  });

  it('names an unknown tensor with its op and field', () => {
    const spec = base();
    spec.ops[2]!.inputs = ['act', 'w_missing'];
    const issues = issuesOf(() => parseGraph(spec));
    expect(issues).toEqual([
      { path: 'ops[2].inputs[1]', message: expect.stringMatching(/fc2.*unknown tensor "w_missing"/) },
    ]);
  });

  it('names a shape mismatch between einsum and tensor', () => {
    const spec = base();
    spec.ops[0]!.einsum = 'bsh,fh->bsf';
    const issues = issuesOf(() => parseGraph(spec));
    expect(issues[0]!.path).toBe('ops[0].inputs[1]');
    expect(issues[0]!.message).toMatch(
      /fc1.*dim "h" is 8192 elsewhere but 32768 in tensor "w1".*shape mismatch/,
    );
  });

  it('names a rank mismatch', () => {
    const spec = base();
    spec.ops[0]!.einsum = 'bh,hf->bf';
    expect(issuesOf(() => parseGraph(spec))[0]).toMatchObject({
      path: 'ops[0].inputs[0]',
      message: expect.stringMatching(/rank 3/),
    });
  });

  it("names a routing op's token or slot dim its einsum lacks", () => {
    const spec = base();
    spec.ops[0]!.routes = { tokens: ['b', 'q'], slots: 's' };
    expect(issuesOf(() => parseGraph(spec))).toEqual([
      { path: 'ops[0].routes.tokens[1]', message: expect.stringMatching(/"q" is not a dim of its einsum/) },
    ]);
    spec.ops[0]!.routes = { tokens: ['b'], slots: 'z' };
    expect(issuesOf(() => parseGraph(spec))).toEqual([
      { path: 'ops[0].routes.slots', message: expect.stringMatching(/slots "z" must be a dim/) },
    ]);
    spec.ops[0]!.routes = { tokens: ['b'], slots: 'f' };
    expect(parseGraph(spec).ops[0]!.routes).toEqual({ tokens: ['b'], slots: 'f' });
  });

  it('names a sliding window on anything but a causal attention kernel', () => {
    const spec = base();
    spec.ops[0]!.window = 128;
    expect(issuesOf(() => parseGraph(spec))).toEqual([
      { path: 'ops[0].window', message: expect.stringMatching(/only a causal attention kernel/) },
    ]);
  });

  it('keeps the inputs an op names for backward, and names a position it does not have or a kind that keeps no inputs', () => {
    const spec = base();
    // fc2 keeps nothing of its input: its backward would need only its weight (never an activation).
    spec.ops[2]!.savedInputs = [1];
    const kept = savedTensors(parseGraph(spec), 'none', []).map((s) => s.tensor);
    expect(kept).toEqual(['x', 'hidden']);
    expect(savedTensors(parseGraph(base()), 'none', []).map((s) => s.tensor)).toEqual(['x', 'hidden', 'act']);
    spec.ops[2]!.savedInputs = [2];
    expect(issuesOf(() => parseGraph(spec))).toEqual([
      { path: 'ops[2].savedInputs[0]', message: expect.stringMatching(/has 2 inputs; there is no input 2/) },
    ]);
    const softmax = base();
    softmax.ops[1]!.kind = 'softmax';
    softmax.ops[1]!.savedInputs = [0];
    expect(issuesOf(() => parseGraph(softmax))).toEqual([
      { path: 'ops[1].savedInputs', message: expect.stringMatching(/a softmax keeps output/) },
    ]);
  });

  it('rejects cycles', () => {
    const spec = base();
    spec.ops[0]!.inputs = ['y', 'w1'];
    spec.ops[0]!.einsum = 'bsh,hf->bsf';
    expect(issuesOf(() => parseGraph(spec))).toEqual([
      { path: 'ops', message: expect.stringMatching(/cycle through ops fc1, gelu, fc2/) },
    ]);
  });

  it('rejects duplicate tensor and op names', () => {
    const spec = base();
    spec.tensors.push({ ...spec.tensors[0]! });
    spec.ops[1]!.name = 'fc1';
    const paths = issuesOf(() => parseGraph(spec)).map((i) => i.path);
    expect(paths).toEqual(['tensors[6].name', 'ops[1].name']);
  });

  it('rejects a malformed einsum, a second writer and a misspelt field', () => {
    const bad = base();
    bad.ops[0]!.einsum = 'bsh,hf';
    expect(issuesOf(() => parseGraph(bad))[0]!.path).toBe('ops[0].einsum');
    const twice = base();
    twice.ops[2]!.output = 'hidden';
    twice.ops[2]!.einsum = 'bsf,fh->bsf';
    expect(issuesOf(() => parseGraph(twice)).map((i) => i.path)).toContain('ops[2].output');
    const typo = base();
    typo.ops[0]!.einsumm = 'x';
    expect(issuesOf(() => parseGraph(typo))[0]).toEqual({
      path: 'ops[0].einsumm',
      message: 'unknown field "einsumm"',
    });
    const noTensors = base();
    noTensors.tensors = [];
    expect(issuesOf(() => parseGraph(noTensors))[0]!.path).toBe('tensors');
  });

  it('merges elementwise ops into the operand they follow', () => {
    const g = parseGraph(gptBlock);
    const c = coarsen(g);
    const name = (i: number) => g.ops[i]!.name;
    const followers = g.ops
      .filter((op) => c.leaderOf[op.index] !== op.index)
      .map((op) => `${op.name}->${name(c.leaderOf[op.index]!)}`);
    // Residual adds read two activations and norms reduce: neither follows.
    expect(followers).toEqual([
      'attn_dropout->softmax',
      'attn_out_dropout->out_proj',
      'gelu->fc1',
      'mlp_dropout->fc2',
    ]);
    expect(c.leaders).toHaveLength(13);
  });
});

describe('cluster validation', () => {
  it('matches catalog ids case-insensitively and fills link defaults', () => {
    const c = parseCluster({ gpu: 'a100-80gb', nodes: 2, gpusPerNode: 8 });
    expect(c.gpu.name).toBe('A100-80GB');
    expect(c.intraNode.bytesPerSec).toBe(300e9);
    expect(c.interNode.bytesPerSec).toBe(25e9);
    expect(c.devices).toBe(16);
  });

  it('lists the known GPUs for an unknown id', () => {
    expect(issuesOf(() => parseCluster({ gpu: 'B300', nodes: 1, gpusPerNode: 8 }))).toEqual([
      { path: 'gpu', message: expect.stringMatching(/unknown GPU "B300".*H100-80GB/) },
    ]);
  });

  it('names bad and misspelt fields', () => {
    expect(issuesOf(() => parseCluster({ gpu: 'H100-80GB', nodes: 0, gpusPerNode: 8 }))[0]!.path).toBe(
      'nodes',
    );
    expect(
      issuesOf(() => parseCluster({ gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8, interNodeGbps: 5 }))[0]!.path,
    ).toBe('interNodeGbps');
    expect(issuesOf(() => parseCluster({ gpu: 'H100-80GB', nodes: 1, gpusPerNode: 'eight' }))[0]!.path).toBe(
      'gpusPerNode',
    );
  });
});
