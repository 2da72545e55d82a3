/**
 * A latent MoE (MoeSpec.latentSize, Nemotron 3 Super): the routed experts read and write a narrower
 * width than the hidden state, reached by Megatron-Core's fc1/fc2_latent_proj, and its tokens travel
 * at that width; the router and the shared experts keep the hidden width.
 */
import { describe, expect, it } from 'vitest';
import { parseGraph } from '../../src/graph/index.ts';
import { build, relErr } from './helpers.ts';

const h = 512;
const latent = 128;
const base = {
  layers: 2,
  hidden: h,
  heads: 8,
  vocab: 1024,
  seqLen: 64,
  activation: 'squared-relu',
  moe: { experts: 16, topK: 4, ffnHidden: 256, sharedExperts: 1, sharedFfnHidden: 512, dropless: true },
} as const;

function opsOf(fields: Record<string, unknown>) {
  return parseGraph(build(fields).layers[1]!.graph).ops;
}

describe('latent MoE', () => {
  const withLatent = { ...base, moe: { ...base.moe, latentSize: latent } };

  it('projects the routed tokens down before the dispatch and up after the combine', () => {
    const names = opsOf(withLatent).map((o) => o.name.split('.').at(-1));
    expect(names.indexOf('latent_down')).toBeGreaterThan(names.indexOf('router'));
    expect(names.indexOf('latent_down')).toBeLessThan(names.indexOf('dispatch'));
    expect(names.indexOf('latent_up')).toBeGreaterThan(names.indexOf('combine'));
    expect(names.indexOf('latent_up')).toBeLessThan(names.indexOf('shared_add'));
    expect(opsOf(base).some((o) => o.name.endsWith('latent_down'))).toBe(false);
  });

  it('sends and computes the experts at the latent width, the shared expert at the hidden one', () => {
    const ops = opsOf(withLatent);
    const op = (name: string) => ops.find((o) => o.name.endsWith(`.${name}`))!;
    // Each routed copy moves latent elements, a quarter of the hidden state's here.
    expect(op('dispatch').flops).toBe(64 * 4 * latent);
    expect(op('expert_fc1').flops).toBe(2 * 64 * 4 * latent * 256);
    expect(op('shared_fc1').flops).toBe(2 * 64 * h * 512);
    const dense = opsOf(base).find((o) => o.name.endsWith('.expert_fc1'))!;
    expect(dense.flops / op('expert_fc1').flops).toBe(h / latent);
  });

  it('holds the parameters Megatron-Core gives a latent MoE layer', () => {
    const layerParams = (fields: Record<string, unknown>) => {
      const graph = build(fields).layers[1]!.graph;
      return graph.tensors.filter((t) => t.param).reduce((n, t) => n + t.shape.reduce((a, b) => a * b, 1), 0);
    };
    const experts = 16 * 2 * latent * 256;
    const projections = 2 * h * latent;
    const router = h * 16;
    const shared = 2 * h * 512;
    const norms = 2 * h; // the block's two RMSNorms
    const attention = 4 * h * h;
    expect(layerParams(withLatent)).toBe(attention + norms + router + projections + experts + shared);
    expect(
      relErr(layerParams(base) - layerParams(withLatent), 16 * 2 * (h - latent) * 256 - projections),
    ).toBe(0);
  });
});
