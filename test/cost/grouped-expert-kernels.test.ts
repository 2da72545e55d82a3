import { describe, expect, it } from 'vitest';
import { findGpu } from '../../src/cluster/catalog.ts';
import { gemmSec } from '../../src/cost/gemm.ts';
import { KERNEL_LAUNCH_SEC } from '../../src/cost/kernel-rates.ts';
import { quantizedCastSec, quantizedFormat } from '../../src/cost/quantized-gemm.ts';
import { estimate } from '../../src/planner/estimate.ts';
import { type Plan, PlanRequest } from '../../src/schema/index.ts';
import { LLAMA3_8B } from '../support/models.ts';

/*
 * Oracles: Transformer Engine's own code paths, written out as kernel counts and bytes by hand.
 * - FP8 current scaling (Float8CurrentScalingQuantizer::quantize_impl, v2.14): nvte_compute_amax reads
 *   the bf16 tensor, nvte_compute_scale_from_amax sets the scale, nvte_quantize_v2 casts it — three
 *   kernels, 2 + 2 + 1 bytes an element forward; the output gradient the same with its transpose
 *   written too (2 + 2 + 2), and the saved input transposed (1 + 1), four kernels backward.
 * - split_quantize (cast.cpp, v2.14) casts a grouped GEMM's splits one by one for current-scaling FP8
 *   and MXFP8 and in one fused kernel for NVFP4; nvte_multi_tensor_gemm runs one GEMM per expert.
 */

const H100 = findGpu('H100-80GB')!.spec;
const MiB = 2 ** 20;

describe('FP8 casts with the scale from each tensor’s own amax', () => {
  it('read the activation twice and write it once, in three kernels; backward four', () => {
    const [activation, output] = [64 * MiB, 16 * MiB];
    const hbm = H100.hbmGBps * 1e9 * H100.efficiency.memory;
    const casts = quantizedCastSec(quantizedFormat('fp8')!, activation, output, H100);
    expect(casts.forwardSec).toBeCloseTo(((activation / 2) * (2 + 2 + 1)) / hbm + 3 * KERNEL_LAUNCH_SEC, 12);
    expect(casts.backwardSec).toBeCloseTo(
      ((output / 2) * (2 + 2 + 2) + (activation / 2) * (1 + 1)) / hbm + 4 * KERNEL_LAUNCH_SEC,
      12,
    );
  });
});

describe('a grouped GEMM’s kernels, one set per expert', () => {
  it('casts each expert’s tokens in kernels of its own for FP8 and MXFP8, all at once for NVFP4', () => {
    const [activation, output] = [64 * MiB, 16 * MiB];
    // Kernels a pass and expert, by hand: current-scaling FP8 3 forward (amax, scale, cast) and 4
    // backward; MXFP8 one each; NVFP4's fused kernel launches none more for more experts.
    for (const [dtype, forward, backward] of [
      ['fp8', 3, 4],
      ['mxfp8', 1, 1],
      ['nvfp4', 0, 0],
    ] as const) {
      const format = quantizedFormat(dtype)!;
      const one = quantizedCastSec(format, activation, output, H100, 1);
      const eight = quantizedCastSec(format, activation, output, H100, 8);
      expect(eight.forwardSec - one.forwardSec).toBeCloseTo(7 * forward * KERNEL_LAUNCH_SEC, 15);
      expect(eight.backwardSec - one.backwardSec).toBeCloseTo(7 * backward * KERNEL_LAUNCH_SEC, 15);
    }
  });

  it('launches a GEMM per expert: the same waves, a launch more for each', () => {
    const shape = { batch: 8, m: 4096, n: 1536, k: 2048 };
    const bf16 = { operands: 2, result: 2 };
    const once = gemmSec(shape, bf16, 989e12, H100);
    expect(gemmSec(shape, bf16, 989e12, H100, 8) - once).toBeCloseTo(7 * KERNEL_LAUNCH_SEC, 15);
  });
});

/** One MoE block of 16 experts, top-2, on `ep` H100s, each rank holding 16/ep of them. */
async function moePlan(ep: number): Promise<Plan> {
  const plan = await estimate(
    PlanRequest.parse({
      model: {
        ...LLAMA3_8B,
        layers: 1,
        vocab: 32000,
        seqLen: 4096,
        moe: { experts: 16, topK: 2, ffnHidden: 1024, dropless: true },
      },
      cluster: { gpu: 'H100-80GB', nodes: 1, gpusPerNode: ep },
      training: { globalBatch: ep, precision: 'fp8', optimizer: 'adam' },
      parallel: { tp: 1, pp: 1, dp: ep, ep, microBatch: 1 },
    }),
  );
  expect(plan.status).toBe('optimal');
  return plan;
}

function expertOp(plan: Plan, name: string) {
  const block = plan.stages[0]!.layerPlans.find((l) => l.layer.startsWith('block'))!;
  return block.ops.find((op) => op.op.endsWith(`.${name}`))!;
}

describe('priced in the plan', () => {
  it('the expert projections of a rank holding 16 experts launch 16 sets where one holding 2 launches 2', async () => {
    const [two, sixteen] = await Promise.all([moePlan(8), moePlan(1)]);
    // Either way a rank's experts take 8,192 routed tokens (one sequence of 4,096 a rank, top-2), so
    // the GEMMs' and casts' work is the same and only the launches differ.
    const fwd = (p: Plan) => expertOp(p, 'expert_down_proj').computeSec.forward;
    // Forward: the GEMM (one launch an expert) and the FP8 casts (three an expert).
    const launches = (experts: number) => experts * (1 + 3) * KERNEL_LAUNCH_SEC;
    const work = (p: Plan, experts: number) => fwd(p) - launches(experts);
    expect(work(sixteen, 16)).toBeGreaterThan(0);
    expect(work(two, 2)).toBeGreaterThan(0);
    // With the launches taken out, the rest is the same work on the same tokens a rank.
    expect(work(sixteen, 16) / work(two, 2)).toBeCloseTo(1, 1);
  });
});
