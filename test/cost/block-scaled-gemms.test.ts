/**
 * Block-scaled training formats. NVFP4 (training.precision "nvfp4"): the linear layers' GEMMs at the
 * FP4 tensor-core peak, the NVFP4 casts around them, NVFP4 copies kept for the backward and for the
 * step, and parameter gathering in NVFP4. MXFP8 ("mxfp8"): the FP8 peak with its own casts and copies.
 * Checked against the vendors' FP4 peaks, each format's bytes written out by hand (4 bits an element
 * and an E4M3 scale each 16; a byte and an E8M0 scale each 32), the weight count of the model, and the
 * request rules.
 */
import { describe, expect, it } from 'vitest';
import { findGpu } from '../../src/cluster/catalog.ts';
import { KERNEL_LAUNCH_SEC } from '../../src/cost/kernel-rates.ts';
import { quantizedCastSec, quantizedFormat } from '../../src/cost/quantized-gemm.ts';
import { estimate } from '../../src/planner/estimate.ts';
import { plan } from '../../src/planner/plan.ts';
import { checkPlannable } from '../../src/planner/request.ts';
import { parseOrThrow } from '../../src/schema/errors.ts';
import { PlanRequest, type PlanRequestInput } from '../../src/schema/index.ts';
import { issuesOf } from '../support/input-issues.ts';
import { LLAMA3_8B } from '../support/models.ts';

// Llama 3 8B's blocks, four of them at 4k tokens: the weights NVFP4 runs are counted from its shape.
const model = { ...LLAMA3_8B, layers: 4, vocab: 32000, seqLen: 4096 } as const;
const { layers: L, hidden: h, heads: n, kvHeads: g, ffnHidden: f } = model;
const d = h / n;
const tp = 2;

function request(precision: 'bf16' | 'fp8' | 'mxfp8' | 'nvfp4', parallel: object = {}): PlanRequestInput {
  return {
    model,
    cluster: { gpu: 'B200-180GB', nodes: 1, gpusPerNode: 8 },
    training: { globalBatch: 32, precision },
    parallel: { tp, pp: 1, dp: 4, zero: 1, microBatch: 1, ...parallel },
    options: { target: 'megatron' },
  };
}

/** The blocks' q, k, v, output and gated-MLP weights each device holds: the GEMMs NVFP4 runs. */
const linearWeightsPerDevice = (L * (h * n * d + 2 * h * g * d + n * d * h + 3 * h * f)) / tp;

describe('NVFP4 on the GPU catalog', () => {
  it('holds the vendors’ dense FP4 peaks: half the sparse figure, or the rack’s over its 72 GPUs', () => {
    const peak = (id: string) => findGpu(id)!.spec.peakTflops.nvfp4;
    // HGX B200 18 PF and GB200 20 PF with sparsity (GB200 NVL72 page), HGX B300 108 PF dense over 8,
    // GB300 NVL72 1,080 PF dense over 72.
    expect(peak('B200-180GB')).toBe(18_000 / 2);
    expect(peak('GB200-186GB')).toBe(20_000 / 2);
    expect(peak('B300-288GB')).toBe(108_000 / 8);
    expect(peak('GB300-288GB')).toBe(1_080_000 / 72);
    expect(peak('H100-80GB')).toBeUndefined();
  });

  it('is refused on a GPU without FP4 tensor cores, naming training.precision', () => {
    const h100 = { ...request('nvfp4'), cluster: { gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 } };
    expect(issuesOf(() => checkPlannable(PlanRequest.parse(h100)))).toEqual([
      {
        path: 'training.precision',
        message: expect.stringMatching(/tensor cores of Blackwell and later, which H100-80GB lacks/),
      },
    ]);
  });
});

/**
 * A format's casts, by hand: an activation of 64 MiB (bf16) into a GEMM writing 16 MiB, each tensor's
 * bytes moved per element `perElement` times over, in `kernels` kernels a pass.
 */
function expectCasts(dtype: 'mxfp8' | 'nvfp4', perElement: number, kernels: number) {
  const gpu = findGpu('GB200-186GB')!.spec;
  const [activation, output] = [64 * 2 ** 20, 16 * 2 ** 20];
  const hbm = gpu.hbmGBps * 1e9 * gpu.efficiency.memory;
  const casts = quantizedCastSec(quantizedFormat(dtype)!, activation, output, gpu);
  expect(casts.forwardSec).toBeCloseTo(
    ((activation / 2) * perElement) / hbm + kernels * KERNEL_LAUNCH_SEC,
    12,
  );
  // Backward: the output gradient alike; the saved column-wise copy needs no transpose.
  expect(casts.backwardSec).toBeCloseTo(((output / 2) * perElement) / hbm + kernels * KERNEL_LAUNCH_SEC, 12);
}

describe('NVFP4 casts', () => {
  it('read the bf16 tensor twice (its amax, then the cast) and write both NVFP4 copies', () => {
    expectCasts('nvfp4', 2 + 2 + 2 * (0.5 + 1 / 16), 2);
  });
});

describe('MXFP8', () => {
  it('casts in one pass writing both copies (block scales need no amax pass)', () => {
    expectCasts('mxfp8', 2 + 2 * (1 + 1 / 32), 1);
    expect(quantizedFormat('mxfp8')!.weightCopyBytes).toBe(2 * (1 + 1 / 32));
  });

  it('keeps 2 × 1.03125 bytes beside each weight where FP8 keeps 2, and is refused off Blackwell', async () => {
    const [fp8, mxfp8] = await Promise.all([estimate(request('fp8')), estimate(request('mxfp8'))]);
    const params = (p: Awaited<ReturnType<typeof estimate>>) => p.stages![0]!.memory.parametersBytes;
    expect(params(mxfp8) - params(fp8)).toBeCloseTo((2 / 32) * linearWeightsPerDevice, 0);
    const h100 = { ...request('mxfp8'), cluster: { gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 } };
    expect(issuesOf(() => checkPlannable(PlanRequest.parse(h100)))).toEqual([
      { path: 'training.precision', message: expect.stringMatching(/"mxfp8" runs on the block-scaled/) },
    ]);
    // Its weights gather in MXFP8 with fp8ParamGather, as Megatron's --fp8-param-gather does.
    expect(() =>
      parseOrThrow(PlanRequest, request('mxfp8', { fp8ParamGather: true }), 'request'),
    ).not.toThrow();
  });
});

describe('NVFP4 training', () => {
  it('runs the linear layers at the FP4 peak: their GEMMs take less time than FP8’s, at most half', async () => {
    const [fp8, nvfp4] = await Promise.all([estimate(request('fp8')), estimate(request('nvfp4'))]);
    const linearSec = (p: Awaited<ReturnType<typeof estimate>>) =>
      p
        .stages![0]!.layerPlans.flatMap((l) => l.ops.map((op) => ({ ...op, count: l.count })))
        .filter((op) => op.kind === 'matmul' && /proj/.test(op.op))
        .reduce((s, op) => s + op.count * op.computeSec.forward, 0);
    const [a, b] = [linearSec(fp8), linearSec(nvfp4)];
    expect(b).toBeLessThan(a);
    // The GEMMs halve; the casts (memory-bound) do not, so the whole is more than half.
    expect(b).toBeGreaterThan(a / 2);
    expect(nvfp4.summary!.stepTimeSec).toBeLessThan(fp8.summary!.stepTimeSec);
  });

  it('keeps an NVFP4 weight’s two copies (1.125 bytes) where FP8 keeps 2, and 0.875 fewer bytes again gathered in NVFP4', async () => {
    const [fp8, nvfp4, gathered] = await Promise.all([
      estimate(request('fp8')),
      estimate(request('nvfp4')),
      estimate(request('nvfp4', { fp4ParamGather: true })),
    ]);
    const params = (p: Awaited<ReturnType<typeof estimate>>) => p.stages![0]!.memory.parametersBytes;
    expect(params(fp8) - params(nvfp4)).toBeCloseTo((2 - 2 * (0.5 + 1 / 16)) * linearWeightsPerDevice, 0);
    // Gathered in NVFP4, the bf16 weight beside the copies goes.
    expect(params(nvfp4) - params(gathered)).toBeCloseTo(2 * linearWeightsPerDevice, 0);
    expect(gathered.stages![0]!.memory.gradientsBytes).toBe(nvfp4.stages![0]!.memory.gradientsBytes);
  });

  it('keeps less activation memory than FP8: the NVFP4 copy of each linear input it saves', async () => {
    const [fp8, nvfp4] = await Promise.all([estimate(request('fp8')), estimate(request('nvfp4'))]);
    const acts = (p: Awaited<ReturnType<typeof estimate>>) => p.stages![0]!.memory.activationsBytes;
    expect(acts(nvfp4)).toBeLessThan(acts(fp8));
  });

  it('asks fp4ParamGather of NVFP4 training with ZeRO 1 only (no Megatron-FSDP gather), naming the field', () => {
    expect(
      issuesOf(() => parseOrThrow(PlanRequest, request('fp8', { fp4ParamGather: true }), 'request')),
    ).toEqual([
      { path: 'parallel.fp4ParamGather', message: expect.stringMatching(/needs training.precision "nvfp4"/) },
    ]);
    for (const zero of [2, 3])
      expect(
        issuesOf(() =>
          parseOrThrow(PlanRequest, request('nvfp4', { fp4ParamGather: true, zero }), 'request'),
        ),
      ).toEqual([{ path: 'parallel.fp4ParamGather', message: expect.stringMatching(/needs zero 1 \(/) }]);
  });

  it('a Megatron-LM search gathering NVFP4 weights keeps to the distributed optimizer (ZeRO 1) and exports the flag', async () => {
    const { tp: _, dp: __, zero: ___, ...rest } = request('nvfp4').parallel as Record<string, unknown>;
    const answer = await plan(
      PlanRequest.parse({
        ...request('nvfp4'),
        parallel: { ...rest, fp4ParamGather: true },
        options: { target: 'megatron', timeLimitSec: 30 },
      }),
    );
    expect(answer.status).toBe('optimal');
    expect(answer.summary!.zero).toBe(1);
    const args = answer.exports!.megatron.files.map((file) => file.content).join('\n');
    expect(args).toContain('--fp4-param-gather');
    expect(args).toContain('--fp4-format e2m1');
    expect(args).not.toContain('--use-megatron-fsdp');
  });

  it('is not torchtitan’s or DeepSpeed’s to run: an estimate for either is refused at options.target, saying why', async () => {
    for (const [target, why] of [
      ['torchtitan', /runs no NVFP4 GEMMs/],
      ['deepspeed', /no NVFP4 setting/],
    ] as const) {
      const parallel = target === 'deepspeed' ? { tp: 1, dp: 8 } : {};
      await expect(estimate({ ...request('nvfp4', parallel), options: { target } })).rejects.toMatchObject({
        issues: [{ path: 'options.target', message: expect.stringMatching(why) }],
      });
    }
  });
});
