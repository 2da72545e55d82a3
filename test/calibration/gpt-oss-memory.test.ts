import { describe, expect, it } from 'vitest';
import { loadReferenceRuns } from '../../bench/reference-runs.ts';
import { estimate } from '../../src/planner/estimate.ts';

/*
 * gpt-oss-120b on 64 B200 as Megatron-Bridge ran it (tp 1, pp 1, dp 64, ep 8, micro batch 4,
 * distributed optimizer, selective recompute of layernorm and moe_act): its memory per GPU written
 * out by hand — weights, gradients and Adam state by who shards them, and activations per layer
 * term by term after Korthikanti et al. (2022) eq. 2 for a pre-norm block with flash attention, GQA
 * and a top-4 MoE, minus what the two output-discarding modules free — against the estimate.
 */
const [L, h, n, g, d, V, E, k, f] = [36, 2880, 64, 8, 64, 201088, 128, 4, 2880];
const [b, s, dp, ep] = [4, 4096, 64, 8];
const tokens = b * s;
const slots = k * tokens; // balanced dropless routing: every token's k copies land on this rank's experts
const GiB = 2 ** 30;

function oracleBytes(recomputed: boolean): number {
  // Per block: q, k, v and output projections, the router, two norms' scales, a sink logit per head.
  const dense = 2 * V * h + L * (h * (n * d + 2 * g * d) + n * d * h + h * E + 2 * h + n);
  const experts = L * (E / ep) * 3 * h * f;
  const weightsAndGradients = 4 * (dense + experts);
  // ZeRO-1 (the distributed optimizer): dense state over dp, expert state over the expert-data group.
  const adam = 12 * (dense / dp + experts / (dp / ep));
  const perLayer =
    tokens * 2 * h + // ln1's input
    tokens * 2 * (n * d + 2 * g * d) + // q, k, v (flash attention keeps its inputs)
    tokens * 2 * n * d + // the output projection's input
    tokens * 2 * h + // ln2's input
    tokens * (2 * E + 4 * k + 2 * k) + // router probabilities, chosen indices (int32), weights
    slots * 4 + // each expert slot's token (int32)
    slots * 2 * h + // the experts' input
    slots * 2 * 2 * f + // gate and up outputs: moe_act's input, kept
    slots * 2 + // each slot's router weight: the weighted quick GeGLU scales by it (experts.py, core_v0.19.0)
    // (and the combine, a plain sum, keeps no expert output); unrecomputed, the norms' outputs, the
    // gated output, no quick-GELU output (fused_bias_geglu.py recomputes it), and the clamped halves
    // concatenated back that the fused activation keeps — the clamps keep the fc1 output counted
    // above (weighted_bias_quick_geglu_impl: torch.clamp saves its input, torch.cat nothing)
    (recomputed ? 0 : tokens * 2 * 2 * h + slots * 2 * f + slots * 2 * 2 * f);
  // The head: the final norm's input, the LM head's input, and the loss's softmax of the logits in
  // fp32 (Megatron-Core's cross entropy upcasts them and saves exp_logits, not the bf16 logits).
  const head = tokens * 2 * h * 2 + tokens * V * 4;
  return weightsAndGradients + adam + L * perLayer + head;
}

describe('gpt-oss-120b on B200 (Megatron-Bridge 26.04.01) in memory', async () => {
  const run = (await loadReferenceRuns()).find((r) => r.id.startsWith('mbridge260401-gptoss-120b'))!;
  const usableBytes = 180 * GiB * 0.9;

  it('fits with its recipe recomputing layernorm and moe_act, as the hand count says', async () => {
    expect(run.request.parallel?.recomputeModules).toEqual(['layernorm', 'moe_act']);
    const plan = await estimate(run.request);
    expect(plan.status).toBe('optimal');
    const oracle = oracleBytes(true);
    expect(oracle).toBeLessThan(usableBytes);
    expect(Math.abs(plan.summary!.peakMemoryBytes - oracle) / oracle).toBeLessThan(0.005);
  });

  it('would not fit without them, by the hand count and by the estimate', async () => {
    const { recomputeModules: _, ...rest } = run.request.parallel!;
    const parallel = { ...rest, recompute: 'none' as const };
    const plan = await estimate({ ...run.request, parallel });
    const oracle = oracleBytes(false);
    expect(oracle).toBeGreaterThan(usableBytes);
    expect(plan.status).toBe('infeasible');
    expect(Math.abs(plan.summary!.peakMemoryBytes - oracle) / oracle).toBeLessThan(0.005);
  });
});
