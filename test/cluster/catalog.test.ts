/**
 * The GPU catalog against figures written here from the vendors' documents, and against the
 * relations the hardware guarantees (peak = units × rate per unit × clock; FP8 twice BF16), none of
 * which the catalog computes itself.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { findGpu, GPU_CATALOG, GPU_IDS } from '../../src/cluster/catalog.ts';
import { parseCluster } from '../../src/cluster/index.ts';
import type { MeshplanApp } from '../../src/http/app.ts';
import { CatalogGpu } from '../../src/schema/cluster.ts';
import { testApp } from '../http/fixtures.ts';

const GiB = 2 ** 30;
const NEW_GPUS = ['B200-180GB', 'GB200-186GB', 'H800-80GB', 'MI300X-192GB'];
const entries = Object.entries(GPU_CATALOG);

function spec(id: string) {
  const entry = GPU_CATALOG[id];
  if (entry === undefined) throw new Error(`${id} is not in the catalog`);
  return entry.spec;
}

describe('the GPU catalog', () => {
  it('holds the four GPUs of issue 13 beside the older ones, each parsing and named by its id', () => {
    expect(GPU_IDS).toEqual([
      'V100-16GB',
      'V100-32GB',
      'A100-40GB',
      'A100-80GB',
      'H100-80GB',
      'H200-141GB',
      'H800-80GB',
      'B200-180GB',
      'GB200-186GB',
      'B300-288GB',
      'GB300-288GB',
      'MI300X-192GB',
    ]);
    for (const [id, entry] of entries) {
      expect(CatalogGpu.parse(entry), id).toEqual(entry);
      expect(entry.spec.name).toBe(id);
      expect(entry.source.length, id).toBeGreaterThan(0);
    }
  });

  it('finds the new GPUs case-insensitively and fills a cluster from them', () => {
    expect(findGpu('gb200-186gb')?.spec.name).toBe('GB200-186GB');
    expect(findGpu(' mi300x-192GB ')?.spec.name).toBe('MI300X-192GB');
    // An NVL72 rack is one NVLink domain of 72 GPUs (DESIGN.md §3).
    const rack = parseCluster({ gpu: 'GB200-186GB', nodes: 2, gpusPerNode: 72 });
    expect(rack.devices).toBe(144);
    expect(rack.intraNode.bytesPerSec).toBe(900e9);
    expect(rack.interNode.bytesPerSec).toBe(50e9);
  });

  it('has dense peaks ordered as tensor cores run them', () => {
    for (const [id, { spec: gpu }] of entries) {
      const { fp32, tf32, bf16, fp16, fp8 } = gpu.peakTflops;
      if (tf32 !== undefined) expect(tf32, id).toBeGreaterThan(fp32);
      if (bf16 !== undefined) expect(bf16, id).toBe(fp16);
      // Every datasheet here with FP8 (Hopper, Blackwell, CDNA 3) gives twice the 16-bit rate, and
      // TF32 at half of it; B200's page rounds TF32's 1.125 PF to 1.1, hence the tolerance.
      if (fp8 !== undefined) expect(fp8 / fp16, id).toBeCloseTo(2, 2);
      if (fp8 !== undefined && tf32 !== undefined)
        expect(Math.abs(tf32 / fp16 - 0.5), id).toBeLessThan(0.012);
    }
  });

  it('matches the datasheets on a handful of figures', () => {
    // NVIDIA H100 datasheet (SXM5): 989 TFLOP/s BF16 dense, 3.35 TB/s.
    expect(spec('H100-80GB').peakTflops.bf16).toBe(989);
    expect(spec('H100-80GB').hbmGBps).toBe(3350);
    // NVIDIA GB200 NVL72 page, HGX B200 column: 9 PF FP8 with sparsity; 180 GB HBM3E at 7.7 TB/s.
    expect(spec('B200-180GB').peakTflops.fp8).toBe(9000 / 2);
    expect(spec('B200-180GB').memoryBytes).toBe(180 * GiB);
    expect(spec('B200-180GB').hbmGBps).toBe(7700);
    // Same page, GB200 NVL72 column: 5 PF FP16/BF16 with sparsity, 186 GB at 8 TB/s.
    expect(spec('GB200-186GB').peakTflops.bf16).toBe(5000 / 2);
    expect(spec('GB200-186GB').memoryBytes).toBe(186 * GiB);
    // SMs as measured, not published by NVIDIA: B200 148 (Chips and Cheese), GB200 152 (CUDA's
    // multiProcessorCount on an "NVIDIA GB200", as FlashInfer and FastVideo record it).
    expect(spec('B200-180GB').smCount).toBe(148);
    expect(spec('GB200-186GB').smCount).toBe(152);
    // Blackwell Ultra: HGX B300's tensor figures are HGX B200's (FP8 72 PF over 8 GPUs, with sparsity),
    // GB300 NVL72's are GB200 NVL72's (FP16/BF16 360 PF over 72, with sparsity; 576 TB/s of HBM over 72);
    // 288 GB a GPU; ConnectX-8 at 800 Gb/s a GPU.
    expect(spec('B300-288GB').peakTflops.fp8).toBe(72_000 / 8 / 2);
    expect(spec('GB300-288GB').peakTflops.bf16).toBe(360_000 / 72 / 2);
    expect(spec('GB300-288GB').hbmGBps).toBe(576_000 / 72);
    for (const id of ['B300-288GB', 'GB300-288GB']) {
      expect(spec(id).memoryBytes, id).toBe(288e9);
      expect(spec(id).smCount, id).toBe(160);
      expect(GPU_CATALOG[id]?.defaultInterNodeGBps, id).toBe(800 / 8);
    }
    // AMD MI300X footnote MI300-17: 2,614.9 TFLOP/s FP8 dense; 192 GB HBM3 at 5.3 TB/s.
    expect(spec('MI300X-192GB').peakTflops.fp8).toBe(2614.9);
    expect(spec('MI300X-192GB').memoryBytes).toBe(192 * GiB);
    expect(spec('MI300X-192GB').hbmGBps).toBe(5300);
    // DeepSeek (arXiv 2505.09343): H800's NVLink cut from 900 to 400 GB/s; 8 × 400G CX7 per node.
    expect(spec('H800-80GB').nvlinkGBps).toBe(200);
    expect(GPU_CATALOG['H800-80GB']?.defaultInterNodeGBps).toBe(400 / 8);
  });

  it('has twice its per-direction NVLink or Infinity Fabric equal to the aggregate the vendor quotes', () => {
    const aggregateGBps: Record<string, number> = {
      'V100-16GB': 300, // V100 datasheet
      'V100-32GB': 300,
      'A100-40GB': 600, // A100 datasheet
      'A100-80GB': 600,
      'H100-80GB': 900, // H100 datasheet
      'H200-141GB': 900, // H200 datasheet
      'H800-80GB': 400, // DeepSeek, arXiv 2505.09343
      'B200-180GB': 14_400 / 8, // DGX B200 user guide: 14.4 TB/s over 8 GPUs
      'GB200-186GB': 1800, // GB200 NVL72 page: 1.8 TB/s per GPU (130 TB/s over 72, rounded)
      'B300-288GB': 14_400 / 8, // HGX B300: 14.4 TB/s over 8 GPUs, as HGX B200
      'GB300-288GB': 1800, // GB300 NVL72 page: 130 TB/s over 72, as GB200 NVL72
      'MI300X-192GB': 7 * 128, // AMD: 128 GB/s per Infinity Fabric link, 7 peers
    };
    expect(Object.keys(aggregateGBps)).toEqual(GPU_IDS);
    for (const [id, total] of Object.entries(aggregateGBps)) expect(spec(id).nvlinkGBps * 2, id).toBe(total);
    expect(130_000 / 72 / (spec('GB200-186GB').nvlinkGBps * 2)).toBeCloseTo(1, 2);
  });

  it('reproduces the 16-bit tensor peak from units × rate per unit × clock where both are published', () => {
    // Dense FP16 FLOP per clock of one SM (CU): Volta 8 tensor cores × 128 (V100 whitepaper); Ampere
    // 4 × 512 (A100 whitepaper); Hopper twice Ampere (H100 whitepaper); CDNA 3 2,048 per CU (ROCm's
    // MI300 microarchitecture table).
    const perUnitPerClock: Record<string, number> = {
      'V100-16GB': 1024,
      'V100-32GB': 1024,
      'A100-40GB': 2048,
      'A100-80GB': 2048,
      'H100-80GB': 4096,
      'H200-141GB': 4096,
      'MI300X-192GB': 2048,
    };
    const both = entries.filter(
      ([, e]) => e.spec.smCount !== undefined && e.spec.boostClockMHz !== undefined,
    );
    expect(both.map(([id]) => id)).toEqual(Object.keys(perUnitPerClock));
    for (const [id, { spec: gpu }] of both) {
      const tflops = (gpu.smCount! * perUnitPerClock[id]! * gpu.boostClockMHz! * 1e6) / 1e12;
      expect(tflops / gpu.peakTflops.fp16, id).toBeCloseTo(1, 2);
    }
  });

  it('gives every NVIDIA GPU a tile from its generation, and none where no default is published', () => {
    const tiles = Object.fromEntries(entries.map(([id, e]) => [id, e.spec.gemmTile]));
    // CUTLASS: Sm70 128×256×32, Sm80 128×256×64, SM90 cooperative 128×256×64, SM100 2-SM 256×128×64.
    expect(tiles['V100-16GB']).toMatchObject({ m: 128, n: 256, k: 32, smsPerTile: 1 });
    expect(tiles['A100-80GB']).toMatchObject({ m: 128, n: 256, k: 64, smsPerTile: 1 });
    expect(tiles['H800-80GB']).toMatchObject({ m: 128, n: 256, k: 64, smsPerTile: 1 });
    expect(tiles['GB200-186GB']).toMatchObject({ m: 256, n: 128, k: 64, smsPerTile: 2 });
    expect(tiles['MI300X-192GB']).toBeUndefined();
    expect(spec('B200-180GB').smCount).toBe(148);
  });

  it('has NCCL figures consistent with the links they ran on', () => {
    for (const [id, { spec: gpu }] of entries) {
      const figures = gpu.allReduceBusBandwidth ?? [];
      for (const f of figures) {
        expect(f.gpus, id).toBeGreaterThanOrEqual(f.nodes);
        // In-network reduction only where the node's switch has it.
        if (f.algorithm === 'nvls') expect(gpu.nvlinkSharp, id).toBe(true);
        // A ring inside one NVLink domain moves every byte over the links: it cannot beat them.
        if (f.algorithm === 'ring' && f.nodes === 1) expect(f.busGBps, id).toBeLessThan(gpu.nvlinkGBps);
      }
      // Reducing in the switch never loses to the ring at the same size and scale.
      for (const nvls of figures.filter((f) => f.algorithm === 'nvls')) {
        const ring = figures.find(
          (f) => f.algorithm !== 'nvls' && f.gpus === nvls.gpus && f.nodes === nvls.nodes,
        );
        if (ring !== undefined) expect(nvls.busGBps, id).toBeGreaterThan(ring.busGBps);
      }
    }
    // The NVIDIA slide's DGX H100 figures: 370 and 480 GB/s inside a node, 370 and 480 over 4 nodes.
    expect(spec('H100-80GB').allReduceBusBandwidth?.map((f) => f.busGBps)).toEqual([370, 480, 370, 480]);
    expect(spec('H100-80GB').nvlinkSharp).toBe(true);
    expect(spec('A100-80GB').nvlinkSharp).toBe(false);
    expect(spec('MI300X-192GB').nvlinkSharp).toBe(false);
  });
});

describe('GET /v1/gpus', () => {
  let app: MeshplanApp | null = null;
  afterEach(async () => {
    await app?.close();
    app = null;
  });

  it('lists the new GPUs with their figures and sources', async () => {
    app = testApp().app;
    const response = await app.inject({ method: 'GET', url: '/v1/gpus' });
    expect(response.statusCode).toBe(200);
    const body = response.json() as {
      id: string;
      spec: { nvlinkGBps: number; smCount?: number };
      source: string;
    }[];
    const byId = new Map(body.map((gpu) => [gpu.id, gpu]));
    for (const id of NEW_GPUS) expect(byId.get(id)?.source, id).toMatch(/\w/);
    expect(byId.get('GB200-186GB')?.spec.nvlinkGBps).toBe(900);
    expect(byId.get('MI300X-192GB')?.spec.smCount).toBe(304);
  });
});
