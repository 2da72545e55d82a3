import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkRuns } from '../../bench/check.ts';
import {
  deepseekArchitectureOf,
  gptOssTraitsOf,
  linearBiasesOf,
  qkNormOf,
} from '../../bench/record-architecture.ts';
import {
  activationOf,
  asyncTensorParallelOf,
  bf16LayersOf,
  capacityFactorOf,
  catalogGpu,
  eagerModeOf,
  expertCommOverlapOf,
  expertTensorParallelDefaultsToTp,
  flexDispatcherNamed,
  fp4ParamGatherOf,
  fp8ParamGatherOf,
  gradReduceOverlapped,
  interNodeGBpsOf,
  localBatchOf,
  nodesOf,
  peakMemoryOf,
  precisionOf,
  publicationYear,
  RecordError,
  recomputeModulesOf,
  recomputeOf,
  recomputeStated,
  refuseActivationOffload,
  refuseUnpricedPrecision,
  statedInterNodeGBps,
  torchtitanStageSplit,
  tpCommOverlapOf,
  withStatedMemoryBandwidth,
  zero3CollectivesOfYear,
  zeroStageOf,
} from '../../bench/record-facts.ts';
import type { ModernRecord } from '../../bench/record-schema.ts';
import { derivedFacts, loadReferenceRuns, loadRunsFile, PINNED_FACTS } from '../../bench/reference-runs.ts';
import { findGpu } from '../../src/cluster/catalog.ts';
import { estimate } from '../../src/planner/estimate.ts';

const REFERENCE = new URL('../../../shared/reference/', import.meta.url);
const modern = JSON.parse(
  readFileSync(new URL('published-runs-modern.json', REFERENCE), 'utf8'),
) as ModernRecord[];
const classic = JSON.parse(readFileSync(new URL('published-runs.json', REFERENCE), 'utf8')) as {
  id: string;
  cluster: object;
}[];

const gpuName = (gpu: string | { name: string }) => (typeof gpu === 'string' ? gpu : gpu.name);

describe('facts read from a record’s own fields', () => {
  it('names the catalog GPU its type and memory describe, and refuses one the catalog lacks', () => {
    const cases: [string, number | null, string][] = [
      ['NVIDIA A100 SXM 80GB', 80, 'A100-80GB'],
      ['NVIDIA A100-SXM4-40GB', null, 'A100-40GB'],
      ['Tesla V100-SXM2-16GB (DGX-1)', null, 'V100-16GB'],
      ['NVIDIA V100 SXM3 (DGX-2)', 32, 'V100-32GB'],
      ['NVIDIA H100 SXM 96GB HBM2e (Grand Teton, 500 W power limit)', null, 'H100-96GB'],
      ['NVIDIA H100 80GB (DGX-H100)', 80, 'H100-80GB'],
      ['NVIDIA H200 (141GB)', null, 'H200-141GB'],
      ['NVIDIA H800', 80, 'H800-80GB'],
      ['NVIDIA B200 (DGX-B200)', null, 'B200-180GB'],
      ['NVIDIA GB200 NVL72', null, 'GB200-186GB'],
      ['DGX-GB300', null, 'GB300-288GB'],
      ['NVIDIA B300 (DGX-B300)', null, 'B300-288GB'],
    ];
    for (const [type, memory, name] of cases) expect(gpuName(catalogGpu('r', type, memory)), type).toBe(name);
    expect(() => catalogGpu('r', 'Google TPU v4', null)).toThrow(RecordError);
    expect(() => catalogGpu('r', 'Google TPU v4', null)).toThrow(/r: cluster\.gpu_type: no catalog GPU/);
    // A rack-scale part's node is its NVLink domain: a job spread evenly over the fewest NVL72 racks,
    // whatever a record calls a node (a compute tray's 4); other GPUs sit in the nodes it states, else 8.
    expect(nodesOf('GB200-186GB', 64, 4)).toEqual({ nodes: 1, gpusPerNode: 64 });
    expect(nodesOf('GB300-288GB', 256, 72)).toEqual({ nodes: 4, gpusPerNode: 64 });
    expect(nodesOf('GB300-288GB', 144, null)).toEqual({ nodes: 2, gpusPerNode: 72 });
    expect(nodesOf('H100-80GB', 64, null)).toEqual({ nodes: 8, gpusPerNode: 8 });
    expect(nodesOf('B300-288GB', 64, 8)).toEqual({ nodes: 8, gpusPerNode: 8 });
    // FP4 GEMMs other than NVFP4's are not priced: such a record is refused, not priced in another format.
    expect(() => refuseUnpricedPrecision('r', 'training.precision_class', 'MXFP4')).toThrow(
      /r: training\.precision_class: "MXFP4": meshplan prices no FP4 GEMMs but NVFP4's/,
    );
    expect(() => refuseUnpricedPrecision('r', 'training.precision_class', 'NVFP4')).not.toThrow();
    expect(() => refuseUnpricedPrecision('r', 'training.precision_class', 'MXFP8')).not.toThrow();
    expect(precisionOf('NVFP4 (TE NVFP4BlockScaling)', 'GB300-288GB')).toBe('nvfp4');
    expect(precisionOf('nvfp4', 'B200-180GB')).toBe('nvfp4');
    // A modern record's class fp8 with MXFP8 in its prose is MXFP8.
    expect(precisionOf('fp8 MXFP8 (block-scaled FP8)', 'GB200-186GB')).toBe('mxfp8');
    // Activations offloaded to host memory are not priced: the record is refused, not priced not to fit.
    expect(() =>
      refuseActivationOffload('r', 'training.notes', 'cpu_offloading True, cpu_offloading_num_layers 20'),
    ).toThrow(/r: training\.notes: the run keeps 20 layers' activations in host memory/);
    expect(() =>
      refuseActivationOffload('r', 'training.notes', 'No CPU offloading (cpu_offloading_num_layers not set)'),
    ).not.toThrow();
    expect(() =>
      refuseActivationOffload('r', 'training.notes', 'cpu_offloading False, cpu_offloading_num_layers 4'),
    ).not.toThrow();
    // A PCIe H100 (756 TFLOP/s dense, no NVSwitch) is not the SXM part it names.
    for (const type of ['NVIDIA H100 PCIe', 'NVIDIA H100 NVL 94GB'])
      expect(() => catalogGpu('r', type, null), type).toThrow(/cluster\.gpu_type: .*PCIe H100/);
  });

  it('prices Grand Teton’s 500 W H100 between the SXM and NVL parts’ peaks, as its report places it', () => {
    const grandTeton = catalogGpu('r', 'NVIDIA H100 SXM 96GB HBM2e (Grand Teton, 500 W power limit)', 96);
    const sxm = findGpu('H100-80GB')!.spec.peakTflops;
    expect(typeof grandTeton === 'string' ? null : grandTeton.memoryBytes).toBe(96 * 2 ** 30);
    const peak = typeof grandTeton === 'string' ? null : grandTeton.peakTflops;
    // The middle of H100 NVL's 835.5 (1,671 sparse, its datasheet) and SXM's 989 dense BF16 TFLOP/s.
    expect(peak?.bf16).toBeCloseTo(912.25, 9);
    // The cap lowers the clock every tensor peak runs at: FP8 by the same share.
    expect(peak?.fp8).toBeCloseTo((sxm.fp8! * 912.25) / 989, 9);
    expect(peak?.fp16).toBeCloseTo(912.25, 9);
  });

  it('prices a GPU at the HBM bandwidth its record states, and at the catalog’s where it states none', async () => {
    const grandTeton = catalogGpu('r', 'NVIDIA H100 SXM 96GB HBM2e (Grand Teton, 500 W power limit)', 96);
    const notes = 'Meta Grand Teton hosts; HBM2e 2.4 TB/s; run at the default 500 W limit (not 700 W).';
    const stated = withStatedMemoryBandwidth(grandTeton, notes);
    expect(typeof stated === 'string' ? null : [stated.name, stated.hbmGBps]).toEqual(['H100-96GB', 2400]);
    // A catalog name becomes its spec with the stated figure; NVLink's TB/s is not HBM's.
    const named = withStatedMemoryBandwidth('H100-80GB', 'HBM3 3.0 TB/s');
    expect(typeof named === 'string' ? null : named.hbmGBps).toBe(3000);
    expect(withStatedMemoryBandwidth('B200-180GB', '1.8 TB/s NVLink per GPU')).toBe('B200-180GB');
    // The reference run on that part is priced at it.
    const run = (await loadReferenceRuns()).find((r) => r.id.endsWith('fsdp4-cp2-64k'))!;
    expect(typeof run.request.cluster.gpu === 'string' ? null : run.request.cluster.gpu.hbmGBps).toBe(2400);
  });

  it('prices a ZeRO-3 run of 2021 as DeepSpeed then ran it, tensor by tensor over per-rank lists', async () => {
    expect(zero3CollectivesOfYear(2021)).toBe('per-tensor-list');
    expect(zero3CollectivesOfYear(2022)).toBe('per-layer');
    expect(zero3CollectivesOfYear(null)).toBe('per-layer');
    // SC'21's Table 2 (a check file in the classic format): its ZeRO-3 rows so, its PTD-P rows not.
    const sc21 = await loadRunsFile(
      new URL('../../bench/checks/sc21-table2-zero3-vs-ptdp.json', import.meta.url).pathname,
    );
    const cut = (zero: number) =>
      new Set(
        sc21
          .filter((r) => r.request.parallel?.zero === zero)
          .map((r) => r.request.parallel?.zero3Collectives),
      );
    expect(cut(3)).toEqual(new Set(['per-tensor-list']));
    expect(cut(0)).toEqual(new Set([undefined]));
    // Megatron-Bridge's 2025 FSDP run (ZeRO-3, modern format) gathers a layer at a time.
    const fsdp = (await loadReferenceRuns()).find(
      (r) => r.id === 'mbridge2511-llama3-8b-h100-fp8-8gpu-fsdp',
    )!;
    expect(fsdp.request.parallel?.zero).toBe(3);
    expect(fsdp.request.parallel?.zero3Collectives ?? 'per-layer').toBe('per-layer');
  });

  it('overlaps the gradient reduction before 2023 only where Megatron-LM ran torch DDP: no pipeline, no ZeRO-3', async () => {
    expect(gradReduceOverlapped(2021, false, 0)).toBe(true);
    expect(gradReduceOverlapped(2021, true, 0)).toBe(false);
    expect(gradReduceOverlapped(2021, false, 3)).toBe(false);
    expect(gradReduceOverlapped(2024, true, 1)).toBe(true);
    // SC'21's Table 1 as examples/sc21/run_table_1.sh ran it: DDP=torch to 18B, local from 39B (pp 2).
    const table1 = (await loadReferenceRuns()).filter((r) => r.family === 'sc21');
    const overlapped = (id: string) => table1.find((r) => r.id === id)!.request.parallel?.overlapGradReduce;
    for (const id of ['1.7B', '3.6B', '7.5B', '18B'])
      expect(overlapped(`megatron-sc21-table1-${id}`)).toBe(true);
    for (const id of ['39B', '145B', '1T']) expect(overlapped(`megatron-sc21-table1-${id}`)).toBe(false);
    // The Megatron-LM README's 2020 weak scaling (a check file): FP16 on V100 and A100 (records saying
    // "fp16 … no bf16"), the 128-way data-parallel runs overlapped; within 16% each.
    const readme2020 = await loadRunsFile(
      new URL('../../bench/checks/megatron-readme2020-weak-scaling.json', import.meta.url).pathname,
    );
    expect(readme2020).toHaveLength(12);
    for (const run of readme2020) {
      expect(run.request.training.precision).toBe('fp16');
      expect(run.request.parallel?.overlapGradReduce).toBe(true);
    }
    const largest = readme2020.find((r) => r.id === 'megatron-readme2020-gpt8b-a100-1024gpu-tp8-dp128')!;
    const priced = await estimate(largest.request);
    // Its 8.67B / 8 fp16 gradients all-reduced over 128 nodes after the backward would add ~0.18 s to
    // the 1.34 s its 8-GPU twin took; the published step is 1.38 s.
    expect(Math.abs(priced.summary!.stepTimeSec / largest.measuredStepSec - 1)).toBeLessThan(0.08);
  });

  it('reads the network rate a record states, per GPU or per node, and the catalog node where it states none', () => {
    // The reference sets' own phrasings: per GPU wins over a per-node figure beside it.
    expect(
      statedInterNodeGBps(
        '8x Mellanox 200 Gbps HDR HCAs per node (+2 for storage); 8 x 200 Gbps HDR per node (= 200 Gbps per GPU)',
        8,
      ),
    ).toBe(25);
    expect(statedInterNodeGBps('backend RDMA network; 400 Gb/s per GPU', 8)).toBe(50);
    // Per node, over its GPUs: AWS p4d's 4 × 100 Gb/s EFA, a DGX-2's 8 × EDR for 16 GPUs, bytes as bytes.
    expect(statedInterNodeGBps('4 x 100 Gbps EFA per node', 8)).toBe(6.25);
    expect(statedInterNodeGBps('8x EDR InfiniBand', 16)).toBe(6.25);
    expect(statedInterNodeGBps('400 Gbps EFA per node', 8)).toBe(6.25);
    expect(statedInterNodeGBps('25 GB/s per GPU', 8)).toBe(25);
    expect(statedInterNodeGBps('InfiniBand; ', 8)).toBeNull();
    // Unstated: the catalog's node, for a part it lacks its generation's (not a described GPU's 25).
    expect(interNodeGBpsOf('V100-32GB', '', 8)).toBe(6.25);
    expect(interNodeGBpsOf('A100-80GB', '', 8)).toBe(25);
    expect(interNodeGBpsOf({ ...findGpu('H100-80GB')!.spec, name: 'H100-96GB' }, '', 8)).toBe(50);
  });

  it('dates a source by its date, an arXiv identifier, or a year in its citation', () => {
    expect(publicationYear({ date: '2025-12-10' })).toBe(2025);
    expect(publicationYear({ citation: "Narayanan et al., SC'21 (arXiv:2104.04473), Table 1" })).toBe(2021);
    expect(publicationYear({ citation: 'NVIDIA/Megatron-LM README (commit f2e5db402c, 2024-07-15)' })).toBe(
      2024,
    );
    expect(publicationYear({ citation: 'a table' })).toBeNull();
  });

  it('reads the precision from prose or class: FP16 where it says so (V100s have no bf16 tensor cores)', async () => {
    expect(
      precisionOf('mixed precision fp16 (script CONFIG.sh: --fp16 --loss-scale 8192)', 'A100-80GB'),
    ).toBe('fp16');
    expect(precisionOf('FP8-CS (per-tensor current scaling)', 'A100-80GB')).toBe('fp8');
    expect(precisionOf('bf16', 'A100-80GB')).toBe('bf16');
    expect(precisionOf('BF16 mixed precision (fp32 master weights)', 'A100-80GB')).toBe('bf16');
    expect(precisionOf(null, 'A100-80GB')).toBe('bf16');
    // The first 16-bit format named wins; unnamed, the GPU's tensor-core format.
    expect(precisionOf('fp16 mixed precision (V100 has no bf16)', 'V100-32GB')).toBe('fp16');
    expect(precisionOf('bf16 (fp16 on the older cluster)', 'A100-80GB')).toBe('bf16');
    expect(precisionOf('mixed precision', 'V100-32GB')).toBe('fp16');
    expect(precisionOf(null, 'V100-16GB')).toBe('fp16');
    expect(precisionOf('mixed precision', 'A100-40GB')).toBe('bf16');
    // Why it matters: a V100 priced in bf16 runs at its CUDA-core rate, several times slower.
    const request = (precision: 'fp16' | 'bf16') => ({
      model: { kind: 'transformer' as const, layers: 8, hidden: 2048, heads: 16, vocab: 32000, seqLen: 1024 },
      cluster: { gpu: 'V100-32GB', nodes: 1, gpusPerNode: 8 },
      training: { globalBatch: 64, precision },
      parallel: { tp: 1, pp: 1, dp: 8, microBatch: 8 },
    });
    const fp16 = (await estimate(request('fp16'))).summary!.stepTimeSec;
    const bf16 = (await estimate(request('bf16'))).summary!.stepTimeSec;
    expect(bf16).toBeGreaterThan(2 * fp16);
  });

  it('maps activations by name, gpt-oss’s clamped variant to the quick GeGLU, and refuses an unknown one', () => {
    expect(activationOf('r', 'swiglu (clamped, quick-gelu gated variant)')).toBe('quick-geglu');
    expect(activationOf('r', 'SiLU-gated (SwiGLU)')).toBe('swiglu');
    expect(activationOf('r', 'squared-relu')).toBe('squared-relu');
    expect(activationOf('r', 'gelu')).toBe('gelu');
    expect(() => activationOf('r', 'tanh')).toThrow(/r: model\.activation/);
  });

  it('takes the ZeRO stage a record states, the era’s where it states none, and refuses one that is not a stage', () => {
    expect(zeroStageOf('r', 3, 1)).toBe(3);
    expect(zeroStageOf('r', null, 1)).toBe(1);
    expect(zeroStageOf('r', undefined, 0)).toBe(0);
    expect(() => zeroStageOf('r', 4, 1)).toThrow(/r: training\.zero_stage: 4 is not a ZeRO stage/);
  });

  it('reads recomputation from prose: full, selective (per-op), else none', () => {
    expect(recomputeOf('full activation recomputation')).toBe('full');
    expect(recomputeOf('selective per-op activation checkpointing')).toBe('selective');
    expect(recomputeOf('none (activations_checkpoint_* null)')).toBe('none');
    expect(recomputeOf(null)).toBe('none');
  });

  it('reads the modules a selective recomputation names, and refuses one it does not know', () => {
    expect(
      recomputeModulesOf('x', 'selective (recompute_modules moe, layernorm, core_attn, moe_act)'),
    ).toEqual(['moe', 'layernorm', 'core_attn', 'moe_act']);
    expect(recomputeModulesOf('x', "selective (recompute_modules ['mla_up_proj'])")).toEqual(['mla_up_proj']);
    expect(recomputeModulesOf('x', 'none (recompute_modules [])')).toBeNull();
    expect(recomputeModulesOf('x', 'selective')).toBeNull();
    expect(() => recomputeModulesOf('x', 'selective (recompute_modules mamba)')).toThrow(
      /training\.recompute.*mamba/,
    );
  });

  it('tells a stated recomputation, "none" included, from a silent record', () => {
    expect(recomputeStated('none (activations_checkpoint_* null in llama3.1_70b.yaml)')).toBe(true);
    expect(recomputeStated('full activation checkpointing')).toBe(true);
    expect(recomputeStated('no activation recompute')).toBe(true);
    expect(recomputeStated('not listed for B200')).toBe(false);
    expect(recomputeStated('Recompute not listed.')).toBe(false);
    expect(recomputeStated(null)).toBe(false);
  });

  it('reads TP overlap, capacity factor, the flex dispatcher and a defaulted expert TP from prose', () => {
    expect(tpCommOverlapOf('sequence_parallel true, ub_tp_comm_overlap true (userbuffers)')).toBe(true);
    expect(tpCommOverlapOf('grouped GEMM off, ub_tp_comm_overlap false; NeMo dev')).toBe(false);
    expect(tpCommOverlapOf('TP --tp-comm-overlap; PP overlap on by default.')).toBe(true);
    expect(tpCommOverlapOf('CommOverlapConfig(tp_comm_overlap=False)')).toBe(false);
    expect(tpCommOverlapOf('Optimizer, recompute, SP not stated.')).toBeNull();
    expect(expertCommOverlapOf('HybridEP flex dispatcher, moe_a2a_overlap False (…_V1)')).toBe(false);
    expect(expertCommOverlapOf('moe_a2a_overlap=True')).toBe(true);
    expect(expertCommOverlapOf('--overlap-moe-expert-parallel-comm')).toBe(true);
    expect(expertCommOverlapOf('EP8 carved from DP')).toBeNull();
    expect(capacityFactorOf('moe_expert_capacity_factor 1.0 with pad-to-capacity')).toBe(1);
    expect(capacityFactorOf('capacity factor: 1.25')).toBe(1.25);
    expect(capacityFactorOf('token-dropless, force-balanced')).toBeNull();
    expect(flexDispatcherNamed('EP16 spans 2 nodes; ETP1; HybridEP flex dispatcher')).toBe(true);
    expect(flexDispatcherNamed('DeepEP backend')).toBe(true);
    expect(flexDispatcherNamed('moe alltoall dispatcher')).toBe(false);
    expect(expertTensorParallelDefaultsToTp('ETP not set (defaults to TP=4 in this NeMo version)')).toBe(
      true,
    );
    expect(expertTensorParallelDefaultsToTp('Pure DP64 + EP8; ETP1.')).toBe(false);
    expect(localBatchOf('local_batch_size 2 per rank, FSDP over all 32 GPUs')).toBe(2);
    expect(localBatchOf('Local batch size 1 per data-parallel (FSDP) rank')).toBe(1);
    expect(localBatchOf('Micro batch not given.')).toBeNull();
  });

  it('reads eager mode and FP8 parameter gathering from prose', () => {
    expect(eagerModeOf('BF16; eager (no torch.compile)')).toBe(true);
    expect(eagerModeOf('trained without torch.compile')).toBe(true);
    expect(eagerModeOf('BF16; torch.compile')).toBe(false);
    expect(eagerModeOf('BF16, eager')).toBe(true);
    // A compiled run that compares itself with eager is not eager.
    expect(eagerModeOf('torch.compile: 14% faster than eager')).toBe(false);
    expect(fp8ParamGatherOf('--fp8-param-gather --use-distributed-optimizer')).toBe(true);
    expect(fp8ParamGatherOf('mixed_precision.fp8_param_gather = False')).toBe(false);
    expect(fp8ParamGatherOf('fp8_params: true')).toBe(true);
    expect(fp8ParamGatherOf('FP8 current scaling')).toBeNull();
    expect(fp4ParamGatherOf('fp4_param_gather True, fp8_param_gather false')).toBe(true);
    expect(fp4ParamGatherOf('--fp4-param-gather')).toBe(true);
    expect(fp4ParamGatherOf('fp8_param_gather true')).toBeNull();
  });

  it('prices gpt-oss on H100 (26.04.01) with the selective recomputation its recipe ran, not the least that fits', async () => {
    const bridge = JSON.parse(
      readFileSync(new URL('../../bench/checks/megatron-bridge-perf-summary.json', import.meta.url), 'utf8'),
    ) as ModernRecord[];
    const record = bridge.find((r) => r.id === 'mbridge260401-gptoss-120b-h100-bf16-64gpu')!;
    const path = join(tmpdir(), `meshplan-gptoss-recompute-${process.pid}.json`);
    writeFileSync(path, JSON.stringify([record]));
    const [run] = await loadRunsFile(path);
    // GPT_OSS_120B_PRETRAIN_CONFIG_H100_BF16_V1's recompute_modules; Bridge's overrides.py makes them selective.
    expect(run!.request.parallel?.recompute).toBe('selective');
    expect(run!.request.parallel?.recomputeModules).toEqual(['layernorm', 'moe_act']);
  });

  it('prices a Megatron-Bridge FP8 (NVFP4) run with FP8 (NVFP4) parameter gathering unless its record says otherwise, and torchtitan eager unfused', async () => {
    const file = (name: string) =>
      JSON.parse(
        readFileSync(new URL(`../../bench/checks/${name}`, import.meta.url), 'utf8'),
      ) as ModernRecord[];
    const bridge = file('megatron-bridge-perf-summary.json');
    const fp8 = bridge.find((r) => r.id === 'mbridge260401-llama3-70b-h100-fp8-64gpu')!;
    const bf16 = bridge.find((r) => r.id === 'mbridge260401-gptoss-120b-h100-bf16-64gpu')!;
    const fsdp = bridge.find((r) => r.id === 'mbridge2511-llama3-8b-h100-fp8-8gpu-fsdp')!;
    const statedOff = {
      ...fp8,
      id: 'stated-off',
      training: { ...fp8.training, notes: `${fp8.training.notes ?? ''} fp8_param_gather False.` },
    };
    const titan = file('torchtitan-202412-performance.json');
    const eager = titan.find((r) => r.id === 'torchtitan202412-llama31-8b-h100-bf16-eager-8gpu-fsdp')!;
    const compiled = titan.find((r) => r.id === 'torchtitan202412-llama31-8b-h100-bf16-8gpu-fsdp')!;
    const blackwell = file('megatron-bridge-260401-blackwell-llama.json');
    const nvfp4 = blackwell.find((r) => r.id === 'mbridge260401-llama3-70b-gb300-nvfp4-64gpu')!;
    const path = join(tmpdir(), `meshplan-fp8-gather-${process.pid}.json`);
    writeFileSync(path, JSON.stringify([fp8, bf16, fsdp, statedOff, eager, compiled, nvfp4]));
    const runs = await loadRunsFile(path);
    const of = (id: string) => runs.find((r) => r.id === id)!.request;
    expect(of(fp8.id).parallel?.fp8ParamGather).toBe(true);
    // Not FP8; ZeRO-3 (Megatron-FSDP's gathers are not priced so); stated off.
    expect(of(bf16.id).parallel?.fp8ParamGather).toBeUndefined();
    expect(of(fsdp.id).parallel?.fp8ParamGather).toBeUndefined();
    expect(of('stated-off').parallel?.fp8ParamGather).toBeUndefined();
    // NVFP4: priced as NVFP4, its weights gathered in NVFP4 (bf16_with_nvfp4_mixed: fp4_param_gather).
    expect(of(nvfp4.id).training.precision).toBe('nvfp4');
    expect(of(nvfp4.id).parallel?.fp4ParamGather).toBe(true);
    expect(of(nvfp4.id).parallel?.fp8ParamGather).toBeUndefined();
    const model = (id: string) => of(id).model as { activationFusion?: boolean; normFusion?: boolean };
    expect(model(eager.id).activationFusion).toBe(false);
    expect(model(compiled.id).activationFusion).toBeUndefined();
    // Eager, torchtitan's RMSNorm is torch.nn.RMSNorm, aten's composite of kernels.
    expect(model(eager.id).normFusion).toBe(false);
    expect(model(compiled.id).normFusion).toBeUndefined();
  });

  it('reads the layers kept in bf16 from prose, and prices a Nemotron 3 Super NVFP4 record with the last 14 kept', async () => {
    const bridge =
      'first_last_layers_bf16 True with num_layers_at_end_in_bf16 14: the last 14 of the 88 layers';
    expect(bf16LayersOf(bridge)).toEqual({ first: 0, last: 14 });
    expect(
      bf16LayersOf('--first-last-layers-bf16 --num-layers-at-start-in-bf16 2 --num-layers-at-end-in-bf16 3'),
    ).toEqual({
      first: 2,
      last: 3,
    });
    expect(
      bf16LayersOf("first_last_layers_bf16 False (the precision config overrides the provider's True)"),
    ).toBeNull();
    expect(bf16LayersOf('num_layers_at_end_in_bf16 14')).toBeNull();
    const hybrid = JSON.parse(
      readFileSync(
        new URL('../../bench/checks/megatron-bridge-nemotron3-hybrid.json', import.meta.url),
        'utf8',
      ),
    ) as ModernRecord[];
    const nvfp4 = hybrid.find((r) => r.id === 'mbridge2608-nemotron3-super-gb300-nvfp4-64gpu')!;
    const mxfp8 = hybrid.find((r) => r.id === 'mbridge2608-nemotron3-super-gb300-mxfp8-64gpu')!;
    const path = join(tmpdir(), `meshplan-super-nvfp4-${process.pid}.json`);
    writeFileSync(path, JSON.stringify([nvfp4, mxfp8]));
    const runs = await loadRunsFile(path);
    const of = (id: string) => runs.find((r) => r.id === id)!.request;
    expect(of(nvfp4.id).training.bf16Layers).toEqual({ first: 0, last: 14 });
    expect(of(nvfp4.id).parallel?.fp4ParamGather).toBeUndefined();
    expect(of(mxfp8.id).training.bf16Layers).toBeUndefined();
    expect(of(mxfp8.id).parallel?.fp8ParamGather).toBe(true);
  });

  it('reads a measured peak memory from prose, and nothing where none is named', () => {
    expect(peakMemoryOf('Local batch size 1 per rank. Peak memory 84.2 GiB. ')).toBe(84.2);
    expect(peakMemoryOf('peak memory: 47.96 GiB (max reserved)')).toBe(47.96);
    expect(peakMemoryOf('Memory-bound kernels; 80 GB HBM3')).toBeNull();
  });

  it('reads torchtitan’s Async TP from prose, whichever way it is spelled', () => {
    expect(asyncTensorParallelOf('2D + AsyncTP')).toBe(true);
    expect(asyncTensorParallelOf('FSDP2, TP with Async TP')).toBe(true);
    expect(asyncTensorParallelOf('enable_async_tensor_parallel = true')).toBe(true);
    expect(asyncTensorParallelOf('FSDP2 + TP, async checkpointing')).toBe(false);
  });

  it('agrees with the facts pinned for every public modern record', () => {
    for (const record of modern) {
      const pinned = PINNED_FACTS[record.id]!;
      const derived = derivedFacts(record);
      expect(derived.family, record.id).toBe(pinned.family);
      expect(gpuName(derived.gpu), record.id).toBe(gpuName(pinned.gpu));
      expect(derived.parallel.zero ?? 0, record.id).toBe(pinned.parallel.zero ?? 0);
      expect(derived.attention, record.id).toBe(pinned.attention);
      expect(derived.parallel.overlapTensorParallelComm ?? false, record.id).toBe(
        pinned.parallel.overlapTensorParallelComm ?? false,
      );
      expect(derived.parallel.etp ?? record.parallelism.etp, record.id).toBe(
        pinned.parallel.etp ?? record.parallelism.etp,
      );
      expect(derived.capacityFactor, record.id).toBe(pinned.capacityFactor);
      expect(derived.parallel.microBatch ?? 1, record.id).toBe(pinned.parallel.microBatch ?? 1);
      expect(derived.parallel.overlapExpertParallelComm ?? false, record.id).toBe(
        pinned.parallel.overlapExpertParallelComm ?? false,
      );
      expect(derived.dispatcher, record.id).toBe(pinned.dispatcher);
      expect(derived.peakMemoryGiB, record.id).toBe(pinned.peakMemoryGiB);
      if (record.model.moe !== null) expect(derived.dropless, record.id).toBe(pinned.dropless);
      // gpt-oss's record leaves recomputation unlisted; its pin comes from the recipe's files.
      if (!record.id.includes('gptoss'))
        expect(derived.parallel.recompute, record.id).toBe(pinned.parallel.recompute);
    }
  });
});

describe('a file of records nobody pinned facts for', () => {
  it('loads in either format and prices each run at the degrees it ran', { timeout: 120_000 }, async () => {
    const reference = await loadReferenceRuns();
    const unpinned = [
      { ...classic.find((r) => r.id === 'megatron-sc21-table1-18B')!, id: 'other-18b' },
      { ...modern.find((r) => r.id.startsWith('dgxc2411-llama31-70b'))!, id: 'other-70b' },
      { ...modern.find((r) => r.id.startsWith('torchtitan202506'))!, id: 'other-8b' },
    ];
    const path = join(tmpdir(), `meshplan-check-${process.pid}.json`);
    writeFileSync(path, JSON.stringify(unpinned));
    const runs = await loadRunsFile(path);
    expect(runs.map((r) => [r.id, r.family])).toEqual([
      ['other-18b', 'sc21'],
      ['other-70b', 'dgxc'],
      ['other-8b', 'torchtitan'],
    ]);
    // The classic record was never pinned: the same request as its public twin.
    const twin = reference.find((r) => r.id === 'megatron-sc21-table1-18B')!;
    expect({ ...runs[0]!.request, model: { ...runs[0]!.request.model, name: twin.id } }).toEqual(
      twin.request,
    );
    expect(runs[0]!.measuredStepSec).toBe(twin.measuredStepSec);
    for (const run of runs) {
      const answer = await estimate(run.request);
      const p = run.request.parallel!;
      expect([answer.summary!.tp, answer.summary!.pp, answer.summary!.dp], run.id).toEqual([
        p.tp,
        p.pp,
        p.dp,
      ]);
    }
  });

  it('reads a DeepSeek-style model from its fields or prose: latent attention, leading dense blocks, MTP', async () => {
    // Hugging Face's config names, Megatron-LM's flags and prose all read the same.
    const v3 = {
      mla: { qLoraRank: 1536, kvLoraRank: 512, qkNopeHeadDim: 128, qkRopeHeadDim: 64, vHeadDim: 128 },
      denseLayers: 3,
      mtpLayers: 1,
    };
    expect(
      deepseekArchitectureOf(
        JSON.stringify({
          q_lora_rank: 1536,
          kv_lora_rank: 512,
          qk_nope_head_dim: 128,
          qk_rope_head_dim: 64,
          v_head_dim: 128,
          first_k_dense_replace: 3,
          num_nextn_predict_layers: 1,
        }),
      ),
    ).toEqual(v3);
    expect(
      deepseekArchitectureOf(
        '--multi-latent-attention --q-lora-rank 1536 --kv-lora-rank 512 --qk-head-dim 128 --qk-pos-emb-head-dim 64 --v-head-dim 128 --moe-layer-freq ([0]*3+[1]*58) --mtp-num-layers 1',
      ),
    ).toEqual(v3);
    expect(deepseekArchitectureOf('MLA; the first three layers are dense; 1 MTP layer')).toEqual(v3);
    // DeepSeek-V2-Lite projects its queries directly; a shared expert may have its own size.
    expect(
      deepseekArchitectureOf(
        JSON.stringify({
          kv_lora_rank: 512,
          q_lora_rank: null,
          moe: { shared_expert_intermediate_size: 2816 },
        }),
      ),
    ).toMatchObject({ mla: { qLoraRank: null }, sharedFfnHidden: 2816 });
    // No public record describes one: each reads as the model it was.
    for (const record of [...modern, ...classic] as unknown as { model: object }[])
      expect(deepseekArchitectureOf(JSON.stringify(record.model))).toEqual({});
    // A record of DeepSeek-V3 is priced as meshplan's own DeepSeek-V3 example describes it.
    const example = JSON.parse(
      readFileSync(new URL('../../examples/deepseek-v3-2048xh800.request.json', import.meta.url), 'utf8'),
    ) as { model: Record<string, unknown> };
    const qwen = modern.find((r) => r.id.startsWith('mbridge260401-qwen3-30b'))!;
    const record = {
      ...qwen,
      id: 'deepseek-v3-record',
      // Megatron-Bridge's DeepSeek-V3 layout on H100: 1,024 GPUs, TP 2, PP 16, EP 64, full recomputation.
      cluster: { ...qwen.cluster, num_gpus: 1024 },
      training: { ...qwen.training, global_batch_size_sequences: 8192, recompute: 'full' },
      parallelism: { ...qwen.parallelism, tp: 2, pp: 16, dp: 32, ep: 64, etp: 1 },
      model: {
        ...qwen.model,
        layers: 61,
        hidden: 7168,
        heads: 128,
        kv_heads: 128,
        ffn_hidden: 18432,
        vocab: 129280,
        activation: 'swiglu',
        head_dim: 192,
        moe: { experts: 256, top_k: 8, ffn_per_expert: 2048, shared_experts: 1, notes: 'dropless' },
        arch_notes:
          'MLA (q_lora_rank 1536, kv_lora_rank 512, qk_rope_head_dim 64, v_head_dim 128), first 3 layers dense, 1 MTP layer.',
      },
    };
    const path = join(tmpdir(), `meshplan-check-deepseek-${process.pid}.json`);
    writeFileSync(path, JSON.stringify([record]));
    const [run] = await loadRunsFile(path);
    const model = run!.request.model as Record<string, unknown>;
    expect(model.mla).toEqual(example.model.mla);
    expect(model.mtpLayers).toBe(example.model.mtpLayers);
    expect(model.headDim).toBeUndefined();
    expect((model.moe as { denseLayers: number }).denseLayers).toBe(3);
    // 61 blocks over 16 stages divide neither evenly nor with the embedding and loss counted: an
    // explicit layout, the ends lighter, stands for the recipe's.
    expect(run!.request.parallel!.stageLayers).toEqual([3, ...new Array<number>(13).fill(4), 3, 3]);
    expect((await estimate(run!.request)).status).toBe('optimal');
  });

  it('reads gpt-oss’s clamp, offset and sinks as its bridge builds them, the clamp its record states first', async () => {
    expect(gptOssTraitsOf('{"name": "Llama 3 8B"}')).toBeUndefined();
    expect(gptOssTraitsOf('gpt-oss-20b')).toEqual({
      activationClamp: 7,
      gluLinearOffset: 1,
      attentionSinks: true,
    });
    expect(gptOssTraitsOf('gpt-oss-120b, gated activation with clamp 6.5')?.activationClamp).toBe(6.5);
    const gptOss = modern.find((r) => r.id.includes('gptoss'))!;
    const model = (await loadReferenceRuns()).find((r) => r.id === gptOss.id)!.request.model;
    expect(model).toMatchObject({
      activation: 'quick-geglu',
      activationClamp: 7,
      gluLinearOffset: 1,
      attentionSinks: true,
    });
  });

  it('reads q and k norms where a record states them or names a Qwen3 model', async () => {
    expect(qkNormOf('Qwen3-30B-A3B: every layer MoE, GQA 4 KV heads, QK-norm.')).toBe(true);
    expect(qkNormOf('"qk_layernorm": true')).toBe(true);
    expect(qkNormOf('{"name": "Qwen3 235B A22B"}')).toBe(true);
    expect(qkNormOf('Qwen3.5 397B')).toBe(false);
    expect(qkNormOf('Llama 3.1 405B, GQA 8 KV heads')).toBe(false);
    const qwen3 = modern.find((r) => r.id.includes('qwen3'))!;
    const model = (await loadReferenceRuns()).find((r) => r.id === qwen3.id)!.request.model;
    expect(model).toMatchObject({ qkNorm: true });
  });

  it('reads biases on the linear layers where a record states them or names gpt-oss', async () => {
    expect(linearBiasesOf('{"add_bias_linear": true}')).toBe(true);
    expect(linearBiasesOf('--disable-bias-linear --swiglu')).toBe(false);
    expect(linearBiasesOf('"attention_bias": false')).toBe(false);
    // gpt-oss's published config has them (attention_bias, the experts' gate_up and down biases).
    const gptOss = modern.find((r) => r.id.includes('gptoss'))!;
    expect(linearBiasesOf(JSON.stringify(gptOss.model))).toBe(true);
    expect(
      ((await loadReferenceRuns()).find((r) => r.id === gptOss.id)!.request.model as { bias?: boolean }).bias,
    ).toBe(true);
    // Every other public record leaves the default: biases with GELU, none with a gated MLP.
    for (const record of [...modern, ...classic] as unknown as { id: string; model: object }[])
      if (record.id !== gptOss.id) expect(linearBiasesOf(JSON.stringify(record.model))).toBeUndefined();
  });

  it('recomputes the least that fits where a record is silent, and what it states where it is not', {
    timeout: 120_000,
  }, async () => {
    const gptOss = modern.find((r) => r.id.includes('gptoss'))!;
    const silent = { ...gptOss, id: 'silent-gpt-oss' };
    // The same record saying it recomputed nothing: priced as it says, not fitting.
    const saysNone = { ...gptOss, id: 'none-gpt-oss', training: { ...gptOss.training, recompute: 'none' } };
    const path = join(tmpdir(), `meshplan-check-recompute-${process.pid}.json`);
    writeFileSync(path, JSON.stringify([silent, saysNone]));
    const [inferred, stated] = await loadRunsFile(path);
    expect(stated!.request.parallel!.recompute).toBe('none');
    expect((await estimate(stated!.request)).status).not.toBe('optimal');
    // Without recomputation 193.0 GiB of 162; selective (the attention core) saves too little.
    expect(inferred!.request.parallel!.recompute).toBe('full');
    expect((await estimate(inferred!.request)).status).toBe('optimal');
    const selective = {
      ...inferred!.request,
      parallel: { ...inferred!.request.parallel, recompute: 'selective' as const },
    };
    expect((await estimate(selective)).status).not.toBe('optimal');
  });

  it('splits layers that do not divide over the pipeline chunks as Megatron-Core’s recipes do', async () => {
    const llama70b = modern.find((r) => r.id.startsWith('dgxc2411-llama31-70b'))!;
    // 78 layers over pp 4 × v 5: (78 + 2) / 20 = 4 per chunk with the embedding and loss counted.
    const uneven = { ...llama70b, id: 'uneven-70b', model: { ...llama70b.model, layers: 78 } };
    const path = join(tmpdir(), `meshplan-check-split-${process.pid}.json`);
    writeFileSync(path, JSON.stringify([uneven]));
    const [run] = await loadRunsFile(path);
    expect(run!.request.parallel!.stageLayers).toEqual([19, 20, 20, 19]);
    expect((await estimate(run!.request)).status).toBe('optimal');
  });

  it('splits uneven torchtitan pipelines as its generate_split_points does, chunks looped over the stages', async () => {
    // 126 blocks in 8 chunks: the first 15, six of 16 (the remainder 6 goes to the middle), the last
    // what is left, 15. In 16 chunks (interleaved, 2 a stage): 7, fourteen of 8, 7; stage r runs
    // chunks r and r + 8, so 7 + 8 and 8 + 7 at the ends.
    expect(torchtitanStageSplit(126, 8, 1)).toEqual([15, 16, 16, 16, 16, 16, 16, 15]);
    expect(torchtitanStageSplit(126, 8, 2)).toEqual([15, 16, 16, 16, 16, 16, 16, 15]);
    // 80 in 3: 26, then 27 while the remainder (2) lasts, the last chunk 80 - 53 = 27.
    expect(torchtitanStageSplit(80, 3, 1)).toEqual([26, 27, 27]);
    // More chunks than blocks: torchtitan refuses the cut.
    expect(torchtitanStageSplit(6, 4, 2)).toBeNull();
    const titan = modern.find((r) => r.id.startsWith('torchtitan202506'))!;
    const deep = {
      ...titan,
      id: 'titan-405b-3d',
      model: { ...titan.model, layers: 126, hidden: 16384, heads: 128, ffn_hidden: 53248 },
      cluster: { ...titan.cluster, num_gpus: 512, num_nodes: 64 },
      training: {
        ...titan.training,
        global_batch_size_sequences: 256,
        micro_batch_size: 4,
        recompute: 'full activation checkpointing',
      },
      parallelism: { ...titan.parallelism, tp: 8, pp: 8, dp: 8, notes: 'FSDP2, TP with Async TP, PP 1F1B.' },
    };
    const path = join(tmpdir(), `meshplan-check-titan-split-${process.pid}.json`);
    writeFileSync(path, JSON.stringify([deep]));
    const [run] = await loadRunsFile(path);
    expect(run!.request.parallel!.stageLayers).toEqual([15, 16, 16, 16, 16, 16, 16, 15]);
    // FSDP2 under pipelining keeps parameters gathered and gradients whole through the step and
    // reduces once after the last backward (ZeRO-1's traffic); TP shards the norms' sequence; the
    // record names Async TP.
    expect(run!.request.parallel).toMatchObject({
      zero: 1,
      overlapGradReduce: false,
      sequenceParallel: true,
      overlapTensorParallelComm: true,
    });
    expect((await estimate(run!.request)).status).toBe('optimal');
  });

  it('reads the step time from the MFU where a record gives nothing else (the catalog peak when unnamed)', async () => {
    // The Megatron README's 16B: 489.1 TFLOP/s per GPU, MFU 0.49 of H100's 989 TFLOP/s dense bf16.
    const record = classic.find((r) => r.id === 'megatron-readme-h100-16B')! as unknown as {
      measured: Record<string, unknown>;
    };
    const onlyMfu = { ...record, id: 'mfu-only', measured: { ...record.measured, tflops_per_gpu: null } };
    const path = join(tmpdir(), `meshplan-check-mfu-${process.pid}.json`);
    writeFileSync(path, JSON.stringify([record, onlyMfu]));
    const [byTflops, byMfu] = await loadRunsFile(path);
    expect(byMfu!.published).toBe('MFU 0.49');
    // 489.1 against 0.49 · 989 = 484.6 TFLOP/s: the same step within the MFU's two digits.
    expect(byMfu!.measuredStepSec / byTflops!.measuredStepSec).toBeCloseTo(489.1 / (0.49 * 989), 2);
  });

  it('checks the records it can price and names each it cannot, with its reason', {
    timeout: 60_000,
  }, async () => {
    const good = classic.find((r) => r.id === 'megatron-sc21-table1-18B')!;
    const tpu = { ...good, id: 'tpu-run', cluster: { ...good.cluster, gpu_type: 'TPU v4' } };
    // 40 layers over pp 64 (tp 1, dp 4, the same 256 GPUs): more stages than layers, no split at all.
    // (Over pp 16 they split, the ends lighter: stageSplitOf.)
    const parallelism = (good as unknown as { parallelism: object }).parallelism;
    const uneven = { ...good, id: 'uneven-run', parallelism: { ...parallelism, tp: 1, pp: 64, dp: 4 } };
    const path = join(tmpdir(), `meshplan-check-mixed-${process.pid}.json`);
    writeFileSync(path, JSON.stringify([tpu, good, uneven]));
    const checked = await checkRuns([path]);
    expect(checked.rows.map((r) => r.run)).toEqual(['megatron-sc21-table1-18B']);
    expect(checked.summary.notPriced.map((r) => r.id)).toEqual(['tpu-run', 'uneven-run']);
    expect(checked.summary.notPriced[0]!.reason).toMatch(/^cluster\.gpu_type: no catalog GPU/);
    expect(checked.summary.notPriced[1]!.reason).toMatch(/^parallel\.pp: 40 layers do not split evenly/);
  });

  it('reads a hybrid Mamba model, a latent MoE and its shared expert’s width from their fields', async () => {
    const nano = (
      JSON.parse(
        readFileSync(
          new URL('../../bench/checks/megatron-bridge-nemotron3-hybrid.json', import.meta.url),
          'utf8',
        ),
      ) as ModernRecord[]
    ).find((r) => r.id === 'mbridge2608-nemotron3-nano-gb300-mxfp8-8gpu')!;
    const latent = {
      ...nano,
      id: 'latent-nano',
      model: { ...nano.model, moe: { ...nano.model.moe!, latent_size: 512 } },
    };
    const path = join(tmpdir(), `meshplan-check-hybrid-${process.pid}.json`);
    writeFileSync(path, JSON.stringify([nano, latent]));
    const [run, latentRun] = await loadRunsFile(path);
    const model = run!.request.model as Record<string, unknown>;
    expect(model.hybridPattern).toBe(nano.model.hybrid_pattern);
    expect(model.mamba).toEqual({ heads: 64, headDim: 64, stateDim: 128, groups: 8 });
    expect(model.moe).toMatchObject({ sharedExperts: 1, sharedFfnHidden: 3712 });
    expect((latentRun!.request.model as { moe: { latentSize: number } }).moe.latentSize).toBe(512);
    const checked = await checkRuns([path]);
    expect(checked.rows.map((r) => r.architecture)).toEqual(['hybrid', 'hybrid']);
    // Latent experts at half the hidden width do less work than the model's own.
    expect(checked.rows[1]!.estimatedStepSec).toBeLessThan(checked.rows[0]!.estimatedStepSec);
  });

  it('reads the CUDA-graph guidance row as it ran: BF16, the all-to-all dispatcher, no expert-parallel overlap', async () => {
    const [run] = await loadRunsFile(
      new URL('../../bench/checks/megatron-bridge-moe-cuda-graph-guidance.json', import.meta.url).pathname,
    );
    // Its prose clears the flex backend and turns moe_a2a_overlap off: neither may read as on.
    const model = run!.request.model as { moe: { dispatcher?: string } };
    expect(model.moe.dispatcher).toBeUndefined();
    expect(run!.request.parallel).not.toHaveProperty('overlapExpertParallelComm');
    expect(run!.request.training).toMatchObject({ precision: 'bf16', globalBatch: 1024 });
    expect(run!.request.parallel).toMatchObject({
      tp: 1,
      pp: 1,
      dp: 16,
      ep: 16,
      microBatch: 1,
      recompute: 'none',
    });
    expect(run!.measuredStepSec).toBe(41.36);
  });

  it('reads every committed check file and prices every record in it', { timeout: 120_000 }, async () => {
    const dir = new URL('../../bench/checks/', import.meta.url);
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => new URL(f, dir).pathname);
    expect(files.length).toBeGreaterThanOrEqual(4);
    const checked = await checkRuns(files);
    expect(checked.summary.notPriced).toEqual([]);
    // Each file's records are its own, none lost: as many rows as records.
    const records = files.reduce((n, f) => n + (JSON.parse(readFileSync(f, 'utf8')) as unknown[]).length, 0);
    expect(checked.rows).toHaveLength(records);
    // Over the GPU's whole memory is a stronger miss than over the planner's headroom: it implies it,
    // and the summary lists exactly those rows.
    for (const row of checked.rows) if (row.overGpuMemory) expect(row.fits, row.run).toBe(false);
    expect(checked.summary.predictedOverGpuMemory).toEqual(
      checked.rows.filter((r) => r.overGpuMemory).map((r) => r.run),
    );
  });

  it('summarises dense and mixture-of-experts runs apart, and the two eras the targets are set for', {
    timeout: 60_000,
  }, async () => {
    const dense = classic.find((r) => r.id === 'megatron-sc21-table1-18B')!;
    const moe = modern.find((r) => r.id === 'mbridge260401-qwen3-30b-a3b-h100-fp8-16gpu-ep16')!;
    const path = join(tmpdir(), `meshplan-check-kinds-${process.pid}.json`);
    writeFileSync(path, JSON.stringify([moe, dense]));
    const checked = await checkRuns([path]);
    expect(checked.rows.map((r) => [r.run, r.architecture])).toEqual([
      [moe.id, 'moe'],
      [dense.id, 'dense'],
    ]);
    // One run of each: each kind's mean and max are that run's own error.
    const errorOf = (id: string) => Math.abs(checked.rows.find((r) => r.run === id)!.errorPct);
    expect(checked.architectures).toEqual([
      { architecture: 'moe', runs: 1, meanAbsErrorPct: errorOf(moe.id), maxAbsErrorPct: errorOf(moe.id) },
      {
        architecture: 'dense',
        runs: 1,
        meanAbsErrorPct: errorOf(dense.id),
        maxAbsErrorPct: errorOf(dense.id),
      },
    ]);
    // SC'21 (2021) is the older era, Megatron-Bridge's 26.04 table (2026) the recent one.
    expect(checked.eras.map((e) => [e.era, e.runs, e.meanAbsErrorPct])).toEqual([
      ['recent', 1, errorOf(moe.id)],
      ['older', 1, errorOf(dense.id)],
    ]);
  });

  it('names the record and the field it cannot read', async () => {
    const path = join(tmpdir(), `meshplan-check-bad-${process.pid}.json`);
    const bad = {
      ...classic[0]!,
      id: 'tpu-run',
      cluster: { ...classic[0]!.cluster, gpu_type: 'TPU v4' },
    };
    writeFileSync(path, JSON.stringify([bad]));
    await expect(loadRunsFile(path)).rejects.toThrow(/tpu-run: cluster\.gpu_type/);
  });
});
