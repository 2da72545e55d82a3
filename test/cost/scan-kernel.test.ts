/**
 * Mamba-2's fused convolution and SSD scan (a `scan` op), priced as its kernels run, against a hand
 * count of what they move: the packed input read and the convolution's x, B and C written, then the
 * tensors each of mamba_ssm's SSD kernels reads and writes, forward and backward — on a shape where
 * those bytes, not the FLOPs, bind. The convolution
 * streams at the achievable rate; the SSD's kernels move theirs at the rate mamba_ssm's Triton chunk
 * scan reaches in TileLang's published benchmark on an H800 (recomputed here from its shapes), per SM
 * and clock.
 */
import { describe, expect, it } from 'vitest';
import { resolveCluster } from '../../src/cluster/cluster.ts';
import { logicalMesh } from '../../src/cluster/mesh.ts';
import { KERNEL_LAUNCH_SEC, memoryBoundSec } from '../../src/cost/kernel-rates.ts';
import { costContext, costOfOp } from '../../src/cost/op-cost.ts';
import { SSD_HBM_SHARE, ssdBytesPerSec } from '../../src/cost/scan-kernel.ts';
import { parseGraph } from '../../src/graph/index.ts';
import { ssdScanFlops } from '../../src/graph/kernels.ts';
import { ClusterSpec } from '../../src/schema/index.ts';
import { build } from '../model/helpers.ts';

const b = 2;
const s = 4096;
const mamba = { heads: 32, headDim: 64, stateDim: 128, groups: 4 };
const model = {
  layers: 1,
  hidden: 1024,
  heads: 8,
  vocab: 1024,
  seqLen: s,
  activation: 'swiglu',
  hybridPattern: 'M',
  mamba,
};

function scanOf(tp: number, gpu = 'H100-80GB') {
  const graph = parseGraph(build(model, b).layers[1]!.graph);
  const cluster = resolveCluster(ClusterSpec.parse({ gpu, nodes: 1, gpusPerNode: 8 }));
  const ctx = costContext(graph, logicalMesh(cluster, [1, tp]), cluster.gpu, 'none');
  const op = graph.ops.find((o) => o.kind === 'scan')!;
  return { cost: costOfOp(op, { split: [null, tp > 1 ? 'a' : null] }, false, ctx), gpu: cluster.gpu, op };
}

/** What the convolution moves forward: the packed input and its parameters read, x, B and C written. */
function convBytes(): number {
  const { heads: H, headDim: P, stateDim: N, groups: G } = mamba;
  const T = b * s;
  const packed = T * H * (2 * P + 1 + (2 * G * N) / H) * 2;
  const params = H * P * 5 * 2 + H * ((2 * G * N * 5) / H + 3) * 2;
  return packed + params + T * (H * P + 2 * G * N) * 2;
}

describe('the SSD scan', () => {
  it('reads mamba_ssm’s measured Triton chunk scan as a share of HBM bandwidth', () => {
    // tile-ai/tilelang benchmark/mamba2: batch 8, 16,384 tokens, 80 heads of 64, state 128, one
    // group, chunks of 256, fp16, on an H800 SXM (3.35 TB/s). TileLang's kernel: 2.531 ms, 135.711
    // TFLOP/s by the README's FLOP count; the chart's Triton bar (mamba_ssm 2.2.6's _chunk_scan_fwd,
    // which Megatron-LM runs) stands at 90.6 TFLOP/s.
    const [H, P, N, G, Q, T] = [80, 64, 128, 1, 256, 8 * 16_384];
    const flops = 2 * T * Q * H * P * 0.5 + 2 * T * H * P * N;
    expect(flops / 2.531e-3 / 1e12).toBeCloseTo(135.711, 0);
    const tritonSec = flops / 90.6e12;
    const perToken =
      2 * H * P * 2 + // x read, output written
      ((H * P * N) / Q) * 2 + // the previous chunk's states
      G * Q * 2 + // the chunk scores
      G * N * 2 + // C
      2 * H * 2; // dt and the decays
    const share = (perToken * T) / tritonSec / 3.35e12;
    expect(SSD_HBM_SHARE).toBeCloseTo(share, 3);
    expect(SSD_HBM_SHARE).toBeGreaterThan(0.27);
    expect(SSD_HBM_SHARE).toBeLessThan(0.28);
  });

  it('streams the convolution and moves the SSD kernels’ bytes at their measured share', () => {
    const { cost, gpu, op } = scanOf(1);
    const { heads: H, headDim: P, stateDim: N, groups: G } = mamba;
    const T = b * s;
    const Q = 128;
    const packed = T * H * (2 * P + 1 + (2 * G * N) / H) * 2;
    const params = H * P * 5 * 2 + H * ((2 * G * N * 5) / H + 3) * 2;
    const conv = convBytes();
    // A token's tensors: a head-wide bf16 one (x, z, outputs, gradients), the fp32 chunk states'
    // share, a group-wide bf16 one (B, C, dB, dC), the fp32 chunk scores' share.
    const X = H * P * 2;
    const S = (H * P * N * 4) / Q;
    const BC = G * N * 2;
    const CB = G * Q * 4;
    // mamba_ssm's forward: x read twice (states, scan), z once, the output and the pre-gate output
    // written; states written fp32, passed (read fp32, written bf16), read bf16 by the scan; B once,
    // C twice (scores, scan), B once more (scores); the scores written and read.
    const forward = T * (5 * X + 3 * S + 4 * BC + 2 * CB);
    // Its backward (_mamba_chunk_scan_combined_bwd): seventeen head-wide tensors (one in the redone
    // states, six in the gate's gradient, one in dstates, three in dx, one in dB, one in dC, two in
    // the scores' gradient, two in the decays'), 8.5 state passes, fifteen group-wide, six scores.
    const backward = T * (17 * X + 8.5 * S + 15 * BC + 6 * CB);
    // The H100 is the benchmark's H800 silicon (132 SMs): the benchmark's own rate.
    const ssdSec = (bytes: number) => bytes / (3.35e12 * SSD_HBM_SHARE);
    // Memory-bound here: the FLOPs at the tensor cores' GEMM share take less time than the bytes.
    const flops = ssdScanFlops({ tokens: T, heads: H, headDim: P, groups: G, stateDim: N, chunkSize: Q });
    const flopsSec = flops / (gpu.peakTflops.bf16! * 1e12 * gpu.efficiency.matmul);
    expect(flopsSec).toBeLessThan(ssdSec(forward));
    expect(op.flops).toBe(flops);
    // Six launches forward (the convolution, five SSD kernels), seventeen backward.
    expect(cost.forwardSec).toBeCloseTo(
      memoryBoundSec(conv, gpu) + ssdSec(forward) + 6 * KERNEL_LAUNCH_SEC,
      12,
    );
    expect(cost.backwardSec).toBeCloseTo(
      memoryBoundSec(2 * conv + packed + params, gpu) + ssdSec(backward) + 17 * KERNEL_LAUNCH_SEC,
      12,
    );
  });

  it('moves the SSD’s bytes at a rate that follows the SMs and their clock, not HBM bandwidth', () => {
    const h800 = 3.35e12 * SSD_HBM_SHARE;
    const spec = (name: string) =>
      resolveCluster(ClusterSpec.parse({ gpu: name, nodes: 1, gpusPerNode: 8 })).gpu;
    // H200: H100's 132 SMs with 4.8 TB/s of HBM, 43% more than the H800's: the same rate.
    expect(spec('H200-141GB').hbmGBps / 3350).toBeGreaterThan(1.4);
    expect(ssdBytesPerSec(spec('H200-141GB'))).toBeCloseTo(h800, -6);
    // B300: 160 SMs (Blackwell Ultra), at Hopper's clock for want of its own: 160/132 of the H800's,
    // though its 8 TB/s are 2.4× the H800's bandwidth.
    expect(ssdBytesPerSec(spec('B300-288GB')) / h800).toBeCloseTo(160 / 132, 9);
    // GB200: 152 SMs, likewise at Hopper's clock.
    expect(ssdBytesPerSec(spec('GB200-186GB')) / h800).toBeCloseTo(152 / 132, 9);
    // A100: 108 SMs at 1,410 MHz against 132 at 1,830.
    expect(ssdBytesPerSec(spec('A100-80GB')) / h800).toBeCloseTo((108 * 1410) / (132 * 1830), 9);
    // A GPU described without an SM count keeps the H800's share of its own HBM bandwidth.
    const { smCount: _none, ...described } = spec('B300-288GB');
    expect(ssdBytesPerSec(described)).toBeCloseTo(described.hbmGBps * 1e9 * SSD_HBM_SHARE, -6);
    // Priced on a B300, the scan's forward less its convolution (streamed at the HBM rate) and its
    // launches: the SSD kernels' bytes, in 132/160 of the H100's time.
    const ssdOnly = (gpu: string) => {
      const { cost, gpu: g } = scanOf(1, gpu);
      return cost.forwardSec - memoryBoundSec(convBytes(), g) - 6 * KERNEL_LAUNCH_SEC;
    };
    expect(ssdOnly('B300-288GB') / ssdOnly('H100-80GB')).toBeCloseTo(132 / 160, 9);
  });

  it('halves a device’s work when tensor parallelism splits the heads, and keeps what it is rerun from', () => {
    const one = scanOf(1).cost;
    const two = scanOf(2).cost;
    const launches = 6 * KERNEL_LAUNCH_SEC;
    expect((two.forwardSec - launches) / (one.forwardSec - launches)).toBeCloseTo(0.5, 9);
    // The packed input and the scan's output, per device: half of each under tp 2.
    const { heads: H, headDim: P, stateDim: N, groups: G } = mamba;
    const kept = b * s * (H * (2 * P + 1 + (2 * G * N) / H) + H * P) * 2;
    expect(one.activationBytes).toBe(kept);
    expect(two.activationBytes).toBe(kept / 2);
  });
});
