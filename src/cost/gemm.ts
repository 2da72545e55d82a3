import type { GraphOp } from '../graph/graph.ts';
import { DIM } from '../graph/letters.ts';
import type { GpuSpec } from '../schema/index.ts';
import { KERNEL_LAUNCH_SEC, memoryBoundSec } from './kernel-rates.ts';

/** A (batched) GEMM on one device: `batch` independent products of M×K by K×N. */
export interface GemmShape {
  readonly batch: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
}

/**
 * How a two-operand einsum maps onto a GEMM: letters in both operands and the output are batch,
 * letters in both operands only are K, letters of the output from one operand only are M (first
 * operand) or N (second).
 */
export interface GemmLetters {
  readonly batch: readonly string[];
  readonly m: readonly string[];
  readonly n: readonly string[];
  readonly k: readonly string[];
}

const lettersCache = new WeakMap<GraphOp, GemmLetters | null>();

/**
 * The op's GEMM letters, or null when it is no plain GEMM: not two operands, a letter summed inside
 * one operand, or FLOPs given apart from the einsum (a fused kernel whose work the einsum does not
 * show). Computed once per op: the planner prices every op under many strategies.
 */
export function gemmLetters(op: GraphOp): GemmLetters | null {
  const cached = lettersCache.get(op);
  if (cached !== undefined) return cached;
  const letters = findGemmLetters(op);
  lettersCache.set(op, letters);
  return letters;
}

function findGemmLetters(op: GraphOp): GemmLetters | null {
  const { inputs, output, letters } = op.einsum;
  if (inputs.length !== 2 || op.einsum.contracted.length === 0) return null;
  const [a, b] = inputs as [string, string];
  const roles = { batch: [] as string[], m: [] as string[], n: [] as string[], k: [] as string[] };
  let points = 1;
  for (const l of letters) {
    points *= op.dimSize[l] ?? 1;
    const inA = a.includes(l);
    const inB = b.includes(l);
    const inOut = output.includes(l);
    if (inA && inB) (inOut ? roles.batch : roles.k).push(l);
    else if (!inOut) return null;
    else (inA ? roles.m : roles.n).push(l);
  }
  // An explicit FLOP count that is not the einsum's says the kernel is something else.
  if (op.flops !== 2 * points || roles.k.length === 0) return null;
  return roles;
}

/** Size of `letter` on one device: the op's size divided by the mesh axes that split it. */
export function localSize(
  op: GraphOp,
  letter: string,
  split: readonly [string | null, string | null],
  axisSizes: readonly [number, number],
): number {
  let size = op.dimSize[letter] ?? 1;
  if (split[0] === letter) size /= axisSizes[0];
  if (split[1] === letter) size /= axisSizes[1];
  return size;
}

function product(
  op: GraphOp,
  letters: readonly string[],
  split: readonly [string | null, string | null],
  axisSizes: readonly [number, number],
): number {
  let p = 1;
  for (const l of letters) p *= localSize(op, l, split, axisSizes);
  return p;
}

/** The forward GEMM of an op under a strategy, per device. */
export function forwardGemm(
  op: GraphOp,
  roles: GemmLetters,
  split: readonly [string | null, string | null],
  axisSizes: readonly [number, number],
): GemmShape {
  return {
    batch: product(op, roles.batch, split, axisSizes),
    m: product(op, roles.m, split, axisSizes),
    n: product(op, roles.n, split, axisSizes),
    k: product(op, roles.k, split, axisSizes),
  };
}

/**
 * The backward GEMMs of C = A·B: the gradient of A (dgrad) is dC·Bᵀ, M×K contracting N; the
 * gradient of B (wgrad) is Aᵀ·dC, K×N contracting M.
 */
export function gradientGemm(forward: GemmShape, operand: 0 | 1): GemmShape {
  return operand === 0
    ? { batch: forward.batch, m: forward.m, n: forward.k, k: forward.n }
    : { batch: forward.batch, m: forward.k, n: forward.n, k: forward.m };
}

/**
 * The kernels a GEMM of the op launches per pass: one for each of the device's experts where the op
 * runs experts side by side (Transformer Engine's grouped GEMM, `nvte_multi_tensor_gemm`, issues one
 * cuBLAS GEMM per expert round-robin over four streams, v2.10 through v2.17; its fused grouped path is
 * opt-in, NVTE_GROUPED_LINEAR_USE_FUSED_GROUPED_GEMM), else one: any other batch is a single
 * strided-batched kernel. The streams let the experts' tiles share the waves, so only the launches add.
 */
export function gemmKernels(
  op: GraphOp,
  split: readonly [string | null, string | null],
  axisSizes: readonly [number, number],
): number {
  return op.dimSize[DIM.experts] === undefined ? 1 : localSize(op, DIM.experts, split, axisSizes);
}

/** Element sizes of a GEMM's operands (A and B) and its result, bytes. */
export interface GemmElementBytes {
  readonly operands: number;
  readonly result: number;
}

/*
 * Tensor-core MMA instructions cover 16 rows or columns at a time (mma.sync m16n8k16 on Ampere,
 * CUTLASS's smallest tensor-op tiles): a library facing an output dim shorter than its tile picks a
 * tile cut down to that dim rounded up to 16 rather than computing a full tile of padding.
 */
const MMA_GRANULE = 16;

function tileSide(tile: number, dim: number): number {
  return Math.min(tile, Math.ceil(dim / MMA_GRANULE) * MMA_GRANULE);
}

/**
 * Waves × one tile's FLOPs for one orientation of the tile (tileM along M, tileN along N): every wave
 * takes one tile's time, so a last wave one tile full costs as much as a full one, and tile edges past
 * M or N are computed too.
 */
function quantizedFlops(shape: GemmShape, tileM: number, tileN: number, concurrentTiles: number): number {
  const m = tileSide(tileM, shape.m);
  const n = tileSide(tileN, shape.n);
  const tiles = shape.batch * Math.ceil(shape.m / m) * Math.ceil(shape.n / n);
  return Math.ceil(tiles / concurrentTiles) * concurrentTiles * 2 * m * n * shape.k;
}

/**
 * Time of one GEMM kernel on one device. Its tiles run in waves over the SMs (a tile per SM, or per
 * pair of SMs on Blackwell) at `efficiency.matmul` of the peak, the share a full wave reaches; the
 * library turns the tile whichever way wastes less. Short K (or M = 1) makes the GEMM stream its
 * operands faster than it can use them: the HBM roofline of A, B and C then binds. Without SM count
 * or tile in the catalog the GEMM runs at the efficiency-scaled peak throughout.
 */
export function gemmSec(
  shape: GemmShape,
  elementBytes: GemmElementBytes,
  peakFlopsPerSec: number,
  gpu: GpuSpec,
  kernels = 1,
): number {
  const { batch, m, n, k } = shape;
  const tile = gpu.gemmTile;
  let flops = 2 * batch * m * n * k;
  if (tile !== undefined && gpu.smCount !== undefined) {
    const concurrentTiles = Math.max(1, Math.floor(gpu.smCount / tile.smsPerTile));
    flops = Math.min(
      quantizedFlops(shape, tile.m, tile.n, concurrentTiles),
      quantizedFlops(shape, tile.n, tile.m, concurrentTiles),
    );
  }
  const computeSec = flops / (peakFlopsPerSec * gpu.efficiency.matmul);
  const bytes = batch * ((m * k + k * n) * elementBytes.operands + m * n * elementBytes.result);
  return Math.max(computeSec, memoryBoundSec(bytes, gpu)) + kernels * KERNEL_LAUNCH_SEC;
}
