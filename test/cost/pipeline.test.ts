import { describe, expect, it } from 'vitest';
import { groupAxis } from '../../src/cluster/axis.ts';
import { resolveCluster } from '../../src/cluster/cluster.ts';
import { collectiveSec } from '../../src/cluster/collectives.ts';
import { logicalMesh } from '../../src/cluster/mesh.ts';
import { bucketCount, dataParallelSec, exposedGradientSec } from '../../src/cost/data-parallel.ts';
import { KERNEL_LAUNCH_SEC } from '../../src/cost/kernel-rates.ts';
import type { LayoutEval } from '../../src/cost/layout-eval.ts';
import { GRADIENT_BYTES, WEIGHT_BYTES } from '../../src/cost/memory.ts';
import { inFlightMicrobatches, pipelineStepSec } from '../../src/cost/pipeline.ts';
import type { PipelineConfig } from '../../src/cost/pipeline-config.ts';
import { stageLinks } from '../../src/cost/placement.ts';
import { LayerSeries, priceStage } from '../../src/cost/stage.ts';
import { estimate } from '../../src/planner/estimate.ts';
import { ClusterSpec, PlanRequest } from '../../src/schema/index.ts';
import { LLAMA3_8B } from '../support/models.ts';

/** One node of 8 H100: a data-parallel group of 8 over NVLink, and an 8B model's traffic on it. */
const cluster = resolveCluster(ClusterSpec.parse({ gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 }));
const axis = groupAxis(cluster, 8, 1, false);
const elements = 8e9;
const gather = collectiveSec('all-gather', axis, elements * WEIGHT_BYTES);
const scatter = collectiveSec('reduce-scatter', axis, elements * GRADIENT_BYTES);

/** Llama 3 8B at 8k tokens on that node, with the given batch and parallel settings. */
function llama8bOnOneNode(training: object, parallel: object): PlanRequest {
  return PlanRequest.parse({
    model: LLAMA3_8B,
    cluster: { gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 },
    training,
    parallel,
  });
}

/**
 * The model on that node as pure data parallelism (dp 8, full recompute), priced twice: by a runtime
 * that waits for its data-parallel traffic after each pass and by one that overlaps it.
 */
async function waitingAndOverlapping(globalBatch: number, parallel: { zero: number }) {
  const priced = async (overlapGradReduce: boolean) =>
    (
      await estimate(
        llama8bOnOneNode(
          { globalBatch, precision: 'bf16', optimizer: 'adam' },
          { tp: 1, pp: 1, dp: 8, microBatch: 1, recompute: 'full', ...parallel, overlapGradReduce },
        ),
      )
    ).breakdown!;
  return { waits: await priced(false), overlaps: await priced(true) };
}

describe('pipeline closed forms', () => {
  it('equal stages take (B + S − 1)·t, the GPipe/1F1B formula', () => {
    const t = 0.1;
    for (const [S, B] of [
      [1, 1],
      [4, 8],
      [8, 64],
    ] as const) {
      const { stepSec, bubbleSec } = pipelineStepSec(new Array(S).fill(t), B, 1, 0);
      expect(stepSec).toBeCloseTo((B + S - 1) * t, 12);
      expect(bubbleSec).toBeCloseTo((S - 1) * t, 12);
    }
  });

  it("interleaving v chunks shrinks the bubble to (S − 1)·t / v (SC'21 §2.2.2)", () => {
    const { stepSec } = pipelineStepSec([0.2, 0.2, 0.2, 0.2], 16, 4, 0.5);
    expect(stepSec).toBeCloseTo(16 * 0.2 + (3 * 0.2) / 4 + 0.5, 12);
  });

  it('the slowest stage paces the steady state', () => {
    const { stepSec, bottleneck } = pipelineStepSec([0.1, 0.3, 0.2], 10, 1, 0);
    expect(bottleneck).toBe(1);
    expect(stepSec).toBeCloseTo(0.6 + 9 * 0.3, 12);
  });

  it('1F1B keeps S − i microbatches in flight on stage i, GPipe all of them', () => {
    expect([0, 1, 2, 3].map((i) => inFlightMicrobatches('1f1b', i, 4, 16, 1))).toEqual([4, 3, 2, 1]);
    expect(inFlightMicrobatches('1f1b', 0, 4, 2, 1)).toBe(2);
    expect(inFlightMicrobatches('gpipe', 3, 4, 16, 1)).toBe(16);
    // Korthikanti §4.2.3: interleaving multiplies the first stage's share by 1 + (p − 1)/(p·v).
    expect(inFlightMicrobatches('interleaved', 0, 4, 64, 2)).toBeCloseTo(4 * (1 + 3 / 8), 12);
    // The last stage warms up (v − 1)·p chunks, holding p − (p − 1)/v microbatches, not 1F1B's one.
    expect(inFlightMicrobatches('interleaved', 3, 4, 16, 5)).toBeCloseTo(4 - 3 / 5, 12);
    // Too few microbatches to leave the warm-up: all of them.
    expect(inFlightMicrobatches('interleaved', 0, 4, 2, 5)).toBe(2);
  });
});

describe('gradient overlap at its limits (Calculon #5: overlap never costs more than none)', () => {
  it('without overlap the whole sync is exposed', () => {
    expect(exposedGradientSec(1, 5, 10, false)).toBe(1);
  });
  it('with no backward window to hide behind, overlap exposes everything', () => {
    expect(exposedGradientSec(1, 0, 10, true)).toBe(1);
  });
  it('no traffic exposes nothing, overlapped or not', () => {
    expect(exposedGradientSec(0, 5, 10, true)).toBe(0);
    expect(exposedGradientSec(0, 5, 10, false)).toBe(0);
  });
  it("with a long window only the last layer's share stays", () => {
    expect(exposedGradientSec(1, 100, 10, true)).toBeCloseTo(0.1, 12);
  });
  it('overlap is never worse than none, for any window', () => {
    for (const window of [0, 0.3, 0.9, 2, 50]) {
      expect(exposedGradientSec(2, window, 7, true)).toBeLessThanOrEqual(
        exposedGradientSec(2, window, 7, false),
      );
    }
  });
});

describe('ZeRO-3 traffic (FSDP): gathered before each pass, hidden behind it by a runtime that overlaps', () => {
  it('gathers the parameters for the forward and again for the backward, which also reduce-scatters', () => {
    const traffic = dataParallelSec(elements, 3, axis, 'overlapped');
    expect(traffic.perStepSec).toBe(0);
    expect(traffic.forwardPerMicrobatchSec).toBeCloseTo(gather, 12);
    expect(traffic.backwardPerMicrobatchSec).toBeCloseTo(gather + scatter, 12);
  });

  it('FP8 parameter gathering sends 1 byte of each FP8 weight in the ZeRO-1 all-gather, 2 of the others', () => {
    const fp8 = elements / 4;
    const gathered = dataParallelSec(
      elements,
      1,
      axis,
      'overlapped',
      Number.POSITIVE_INFINITY,
      { count: 1 },
      2,
      { elements: fp8, elementBytes: 1 },
    );
    const bytes = (elements - fp8) * WEIGHT_BYTES + fp8 * 1;
    expect(gathered.perStepGatherSec).toBeCloseTo(collectiveSec('all-gather', axis, bytes), 12);
    // The gradients' reduce-scatter is unchanged.
    expect(gathered.perStepSec).toBe(dataParallelSec(elements, 1, axis, 'overlapped').perStepSec);
  });

  it('a runtime that reduces in fp32 reduce-scatters 4 bytes a gradient; the gathers stay bf16', () => {
    const fp32 = dataParallelSec(elements, 3, axis, 'overlapped', Number.POSITIVE_INFINITY, { count: 1 }, 4);
    expect(fp32.forwardPerMicrobatchSec).toBeCloseTo(gather, 12);
    expect(fp32.backwardPerMicrobatchSec).toBeCloseTo(
      gather + collectiveSec('reduce-scatter', axis, elements * 4),
      12,
    );
  });

  it('an overlapping runtime leaves one layer’s share of each pass exposed; one that waits, all of it', async () => {
    const { waits, overlaps } = await waitingAndOverlapping(32, { zero: 3 });
    const microbatches = 32 / 8;
    const paramsPerDevice = waits.dpCommSec / microbatches / (2 * gather + scatter);
    // The traffic is the model's parameters' (embeddings and norms included): a little over 8e9.
    expect(paramsPerDevice).toBeGreaterThan(0.95);
    expect(paramsPerDevice).toBeLessThan(1.1);
    // Each pass's compute (≥ 0.1 s a layer here) outlasts its traffic: only a layer's share stays.
    expect(overlaps.dpCommSec).toBeCloseTo(waits.dpCommSec / 32, 2);
    expect(waits.totalSec - overlaps.totalSec).toBeCloseTo(waits.dpCommSec - overlaps.dpCommSec, 6);
  });
});

describe('data-parallel traffic goes one collective per layer, each paying the ring latency', () => {
  // 1,024 H100 in 128 nodes: a ring over all of them takes 1,023 steps per collective.
  const big = resolveCluster(ClusterSpec.parse({ gpu: 'H100-80GB', nodes: 128, gpusPerNode: 8 }));
  const ring = groupAxis(big, 1024, 1, true);
  const ringLatencySec = 127 * big.interNode.latencySec + (1023 - 127) * big.intraNode.latencySec;
  const layers = 32;
  const whole = (zero: 1 | 3, on: typeof axis) => dataParallelSec(elements, zero, on, 'overlapped');
  // Seven NVLink hops: a reduce-scatter or all-gather ring over one node's eight GPUs.
  const nodeRingSec = 7 * cluster.intraNode.latencySec;

  it('splitting into 32 collectives adds 31 ring latencies at most, and at least the bytes stay the same', () => {
    const split = dataParallelSec(elements, 3, ring, 'overlapped', null, { count: layers });
    const extra = split.forwardPerMicrobatchSec - whole(3, ring).forwardPerMicrobatchSec;
    expect(extra).toBeGreaterThan(0);
    expect(extra).toBeLessThanOrEqual((layers - 1) * ringLatencySec + 1e-12);
    expect(split.backwardPerMicrobatchSec).toBeGreaterThanOrEqual(whole(3, ring).backwardPerMicrobatchSec);
  });

  it('for small layers on many devices the latency is most of the time (an 8B model’s 250 MB layers on 1,024 GPUs)', () => {
    const split = dataParallelSec(elements, 3, ring, 'overlapped', null, { count: layers });
    // Each layer's 500 MB gather moves in ~2 ms over the node's rails; the ring adds ~2–3 ms to each.
    expect(split.forwardPerMicrobatchSec).toBeGreaterThan(1.5 * whole(3, ring).forwardPerMicrobatchSec);
  });

  it('on one node a collective per layer costs 31 more rings of 7 NVLink hops (closed form)', () => {
    const split = dataParallelSec(elements, 1, axis, 'overlapped', null, { count: layers });
    expect(split.perStepSec - whole(1, axis).perStepSec).toBeCloseTo((layers - 1) * nodeRingSec, 12);
    expect(split.perStepSec / whole(1, axis).perStepSec).toBeLessThan(1.02);
  });

  it('ZeRO-1 sends its step’s traffic in the runtime’s buckets; ZeRO-3 layer by layer whatever the buckets', () => {
    // 8e9 elements in buckets of 3e9: three reduce-scatters and three all-gathers, two rings more each.
    const zero1 = dataParallelSec(elements, 1, axis, 'overlapped', 3e9, { count: layers });
    expect(zero1.perStepSec - whole(1, axis).perStepSec).toBeCloseTo(2 * nodeRingSec, 12);
    expect(zero1.perStepGatherSec - whole(1, axis).perStepGatherSec).toBeCloseTo(2 * nodeRingSec, 12);
    const zero3 = dataParallelSec(elements, 3, axis, 'overlapped', 3e9, { count: layers });
    expect(zero3.forwardPerMicrobatchSec - whole(3, axis).forwardPerMicrobatchSec).toBeCloseTo(
      (layers - 1) * nodeRingSec,
      12,
    );
  });
});

describe('bucketCount: the runtime’s buckets, or a collective per layer', () => {
  it('counts buckets of the given size, rounding up; one per layer without a size; at least one', () => {
    // Nemotron-4 15B at tp 8: 1.9e9 elements per device in Megatron's 96M-element buckets at dp 96.
    expect(bucketCount(1.9e9, 34, 96e6)).toBe(20);
    expect(bucketCount(1.9e9, 34, null)).toBe(34);
    expect(bucketCount(1.9e9, 34, Number.POSITIVE_INFINITY)).toBe(1);
    expect(bucketCount(0, 0, 96e6)).toBe(1);
  });
});

describe('ZeRO-3 memory: its shards plus the layers it holds whole at its peak', () => {
  it('adds two copies of the largest layer’s weights and one of its gradient (hand count: the LM head)', async () => {
    const [vocab, hidden] = [128256, 4096];
    const request = (zero: number) =>
      llama8bOnOneNode(
        { globalBatch: 32, precision: 'bf16', optimizer: 'adam' },
        { tp: 1, pp: 1, dp: 8, microBatch: 1, zero, recompute: 'full' },
      );
    const memoryOf = async (zero: number) => (await estimate(request(zero))).stages![0]!.memory;
    const [whole, sharded] = [await memoryOf(1), await memoryOf(3)];
    // The largest layer is the head: its vocab × hidden projection (with the final norm's hidden).
    const largest = (sharded.parametersBytes - whole.parametersBytes / 8) / (2 * WEIGHT_BYTES);
    expect(largest).toBeGreaterThanOrEqual(vocab * hidden);
    expect(largest).toBeLessThanOrEqual(vocab * hidden + hidden);
    expect(sharded.gradientsBytes - whole.gradientsBytes / 8).toBeCloseTo(largest * GRADIENT_BYTES, 0);
  });
});

describe('ZeRO-1 (distributed optimizer): gradients reduce-scattered, updated parameters all-gathered', () => {
  it('prices the reduce-scatter after the backward and the gather before the next forward, once a step', () => {
    const traffic = dataParallelSec(elements, 1, axis, 'overlapped');
    expect(traffic.perStepSec).toBeCloseTo(scatter, 12);
    expect(traffic.perStepGatherSec).toBeCloseTo(gather, 12);
    expect(traffic.forwardPerMicrobatchSec + traffic.backwardPerMicrobatchSec).toBe(0);
  });

  it('hides each behind its own pass when the runtime overlaps both (--overlap-grad-reduce, --overlap-param-gather)', async () => {
    const { waits, overlaps } = await waitingAndOverlapping(8, { zero: 1 });
    // Both passes of the one microbatch outlast the traffic: one layer's share (of 34, with the
    // embedding and the head) of each collective stays exposed.
    expect(overlaps.dpCommSec).toBeCloseTo(waits.dpCommSec / 34, 3);
    expect(waits.totalSec - overlaps.totalSec).toBeCloseTo(waits.dpCommSec - overlaps.dpCommSec, 6);
  });
});

describe('a stage’s once-a-step data-parallel traffic, against the passes that hide it (closed form)', () => {
  // The stage's data-parallel peers are the node's 8 GPUs: the same group as `axis`.
  const links = stageLinks(cluster, 1, { dp: 8, cp: 1, ep: 1 });
  const layers = 10;
  // Ten equal layers whose forward (all of them) takes half the gather, the backward twice that.
  const forward = (0.5 * gather) / layers;
  const layer: LayoutEval = {
    ops: [],
    commSec: 0,
    outputGatherSec: 0,
    reshardSec: 0,
    cpCommSec: 0,
    epCommSec: 0,
    gradSyncSec: 0,
    expertParamElements: 0,
    paramTensors: 12,
    regathered: { tensors: 0, elements: 0 },
    quantizedWeightElements: 0,
    expertQuantizedWeightElements: 0,
    activationBytes: 0,
    inputGradientHideableSec: 0,
    forwardComputeSec: forward,
    backwardComputeSec: 2 * forward,
    totalSec: 3 * forward,
    paramElements: elements / layers,
  };
  const series = new LayerSeries(logicalMesh(cluster, [1, 1]), new Array(layers).fill(layer), 0.5);
  const config = (overlapParamGather: boolean): PipelineConfig => ({
    dp: 8,
    cp: 1,
    ep: 1,
    microBatch: 1,
    microbatches: 4,
    zero3Prefetch: true,
    zero3Collectives: 'per-layer',
    zero3RegatherAfterRecompute: false,
    recompute: 'none',
    zero: 1,
    schedule: '1f1b',
    virtualStages: 1,
    gradientReduction: 'overlapped',
    overlapParamGather,
    overlapInputGradientReduce: true,
    gradientBucketElements: null,
    overlapTensorParallelComm: false,
    overlapExpertParallelComm: false,
    gradientReduceBytes: 2,
    heldGradientBytes: 2,
    quantizedWeightCacheBytes: 2,
    quantizedParamGather: null,
  });
  const exposed = (sync: number, window: number) => Math.max(sync / layers, sync - window);
  // The runtime sends each layer's share as its own collective.
  const perLayer = (kind: 'all-gather' | 'reduce-scatter', bytes: number) =>
    layers * collectiveSec(kind, axis, bytes / layers);
  const layerGathers = perLayer('all-gather', elements * WEIGHT_BYTES);
  const layerScatters = perLayer('reduce-scatter', elements * GRADIENT_BYTES);

  it('hides the reduce-scatter behind the last backward and the gather behind the first forward', () => {
    const price = priceStage(series, 0, layers - 1, layers, 0, links, config(true), cluster);
    expect(price.dpPerStepSec).toBeCloseTo(
      exposed(layerScatters, 2 * layers * forward) + exposed(layerGathers, layers * forward),
      12,
    );
  });

  it('leaves the gather whole where the runtime runs it after the optimizer step (DeepSpeed)', () => {
    const price = priceStage(series, 0, layers - 1, layers, 0, links, config(false), cluster);
    expect(price.dpPerStepSec).toBeCloseTo(exposed(layerScatters, 2 * layers * forward) + layerGathers, 12);
  });

  describe('ZeRO-3, gathering a layer ahead or only when each runs', () => {
    const zero3 = (zero3Prefetch: boolean): PipelineConfig => ({ ...config(true), zero: 3, zero3Prefetch });
    const [ahead, waited] = [true, false].map((prefetch) =>
      priceStage(series, 0, layers - 1, layers, 0, links, zero3(prefetch), cluster),
    );

    it('hides the gathers behind the passes when prefetching, and waits for each without', () => {
      // Per microbatch: a gather before the forward, a gather and a reduce-scatter in the backward.
      expect(ahead!.dpPerMicrobatchSec).toBeCloseTo(
        exposed(layerGathers, layers * forward) + exposed(layerGathers + layerScatters, 2 * layers * forward),
        12,
      );
      expect(waited!.dpPerMicrobatchSec).toBeCloseTo(
        2 * layerGathers + exposed(layerScatters, 2 * layers * forward),
        12,
      );
    });

    it('holds one layer of parameters whole instead of two', () => {
      expect(ahead!.params.parametersBytes - waited!.params.parametersBytes).toBeCloseTo(
        (elements / layers) * WEIGHT_BYTES,
        0,
      );
      expect(ahead!.params.gradientsBytes).toBe(waited!.params.gradientsBytes);
    });
  });

  describe('ZeRO-3 tensor by tensor over per-rank lists (DeepSpeed before v0.5.5)', () => {
    // The ten layers hold 12 parameter tensors each: 120 collectives a pass, each paying its ring
    // latency and host ops for each of the 8 ranks — a gather narrows each rank's slice and
    // ProcessGroupNCCL copies each piece out (2), a reduce-scatter takes a view and a narrow of each
    // slice and copies each in (3) — and HBM copies of the whole: a gather zero-fills the tensor and
    // copies the pieces out of the flat buffer (3 × its bytes), a reduce-scatter copies them in (2 ×).
    const tensors = 12 * layers;
    const hbm = (bytes: number) => bytes / (cluster.gpu.hbmGBps * 1e9 * cluster.gpu.efficiency.memory);
    const perTensor = (kind: 'all-gather' | 'reduce-scatter', bytes: number) =>
      tensors * collectiveSec(kind, axis, bytes / tensors) +
      tensors * 8 * (kind === 'all-gather' ? 2 : 3) * KERNEL_LAUNCH_SEC +
      hbm((kind === 'all-gather' ? 3 : 2) * bytes);
    const tensorGathers = perTensor('all-gather', elements * WEIGHT_BYTES);
    const tensorScatters = perTensor('reduce-scatter', elements * GRADIENT_BYTES);
    const listed = (zero3Prefetch: boolean): PipelineConfig => ({
      ...config(true),
      zero: 3,
      zero3Prefetch,
      zero3Collectives: 'per-tensor-list',
      zero3RegatherAfterRecompute: true,
    });

    it('waits for every gather, prefetching or not (it synchronises the device before each)', () => {
      for (const prefetch of [true, false]) {
        const price = priceStage(series, 0, layers - 1, layers, 0, links, listed(prefetch), cluster);
        expect(price.dpPerMicrobatchSec).toBeCloseTo(
          2 * tensorGathers + exposed(tensorScatters, 2 * layers * forward),
          12,
        );
      }
    });

    it('gathers again, waited, what it released after a recomputed forward (its reuse distance too long)', () => {
      // Ten of each layer's twelve tensors, two thirds of its elements, as in a GPT block at scale.
      const again = { tensors: 10, elements: (2 / 3) * (elements / layers) };
      const recomputed = new LayerSeries(
        logicalMesh(cluster, [1, 1]),
        new Array(layers).fill({ ...layer, regathered: again }),
        0.5,
      );
      const count = again.tensors * layers;
      const bytes = again.elements * layers * WEIGHT_BYTES;
      const regather =
        count * collectiveSec('all-gather', axis, bytes / count) +
        count * 8 * 2 * KERNEL_LAUNCH_SEC +
        hbm(3 * bytes);
      const price = priceStage(recomputed, 0, layers - 1, layers, 0, links, listed(false), cluster);
      expect(price.dpPerMicrobatchSec).toBeCloseTo(
        2 * tensorGathers + regather + exposed(tensorScatters, 2 * layers * forward),
        12,
      );
      // DeepSpeed's coalesced ZeRO-3 (v0.16.4) gathers them again too, a collective a layer, hidden
      // behind the backward as its prefetched gathers are; a runtime that keeps the layer gathered
      // through its backward (FSDP2, Megatron-FSDP) does not.
      const coalesced = (regather: boolean): PipelineConfig => ({
        ...config(true),
        zero: 3,
        zero3RegatherAfterRecompute: regather,
      });
      const hidden = (s: LayerSeries, regather: boolean) =>
        priceStage(s, 0, layers - 1, layers, 0, links, coalesced(regather), cluster);
      const perLayerAgain = layers * collectiveSec('all-gather', axis, bytes / layers);
      expect(hidden(recomputed, true).dpPerMicrobatchSec).toBeCloseTo(
        exposed(layerGathers, layers * forward) +
          exposed(layerGathers + layerScatters + perLayerAgain, 2 * layers * forward),
        12,
      );
      expect(hidden(recomputed, false).dpPerMicrobatchSec).toBe(hidden(series, false).dpPerMicrobatchSec);
      // A runtime gathering a layer at a time keeps the layer whole through its backward.
      const byLayer = (s: LayerSeries) =>
        priceStage(
          s,
          0,
          layers - 1,
          layers,
          0,
          links,
          { ...config(true), zero: 3, zero3Prefetch: false },
          cluster,
        ).dpPerMicrobatchSec;
      expect(byLayer(recomputed)).toBe(byLayer(series));
    });

    it('costs more than a collective per layer by at least the two waited gathers’ host ops, 2n a tensor', () => {
      const byLayer = priceStage(
        series,
        0,
        layers - 1,
        layers,
        0,
        links,
        { ...config(true), zero: 3, zero3Prefetch: false },
        cluster,
      );
      const byTensor = priceStage(series, 0, layers - 1, layers, 0, links, listed(false), cluster);
      expect(byTensor.dpPerMicrobatchSec).toBeGreaterThan(
        byLayer.dpPerMicrobatchSec + 2 * tensors * 8 * 2 * KERNEL_LAUNCH_SEC,
      );
      // Memory does not change: the same layers are held whole.
      expect(byTensor.params).toEqual(byLayer.params);
    });
  });
});

describe('interleaved hand-overs: every chunk but the model’s first receives, every chunk but its last sends', () => {
  /** Llama 3 8B on one node as 4 stages of 2-way data parallelism, 16 microbatches, v chunks. */
  const pipelineOf = async (virtualStages: number) =>
    (
      await estimate(
        llama8bOnOneNode(
          { globalBatch: 32, precision: 'bf16', optimizer: 'adam' },
          { tp: 1, pp: 4, dp: 2, microBatch: 1, virtualStages },
        ),
      )
    ).breakdown!;

  it('an end stage crosses 2v − 1 boundaries a microbatch, not v (Megatron-LM’s interleaved schedule)', async () => {
    const [plain, interleaved] = [await pipelineOf(1), await pipelineOf(2)];
    // The last stage, with the head, paces the pipeline: one boundary a microbatch under 1F1B, three
    // with two chunks (its first chunk receives and sends, its second only receives).
    expect(plain.ppCommSec).toBeGreaterThan(0);
    expect(interleaved.ppCommSec / plain.ppCommSec).toBeCloseTo(3, 6);
  });
});
