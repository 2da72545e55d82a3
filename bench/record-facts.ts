/**
 * What a published-run record says in prose, read the same way for every record: the GPU, the
 * recomputation, the year (and with it the runtime of the time). Both reference formats use these,
 * so a record nobody pinned facts for — another paper's table, a hidden check set — is priced by
 * the same rules as the public ones.
 */
import { findGpu, GPU_CATALOG } from '../src/cluster/catalog.ts';
import { GiB } from '../src/cluster/gpus/common.ts';
import { embeddingAndLossSplit } from '../src/planner/estimate-config.ts';
import {
  type Activation,
  type Bf16Layers,
  type GpuSpec,
  type Precision,
  type Recompute,
  RecomputeModule,
  type Zero3Collectives,
  ZeroStage,
} from '../src/schema/index.ts';

/** A record that cannot be read as a run: names it and the field. */
export class RecordError extends Error {
  constructor(
    readonly id: string,
    readonly field: string,
    readonly problem: string,
  ) {
    super(`${id}: ${field}: ${problem}`);
  }
}

/*
 * H100 NVL's dense BF16 peak (NVIDIA H100 NVL datasheet: 1,671 TFLOP/s with sparsity), the lower end
 * of the range torchtitan's report puts its 500 W part in; the SXM part's 989 is the upper.
 */
const H100_NVL_BF16_TFLOPS = 835.5;

/**
 * Grand Teton's H100 SXM with 96 GB (torchtitan's 2024 report, Liang et al., arXiv 2410.06511):
 * H100-80GB's figures with 96 GiB; the catalog has no such part. Its HBM2e bandwidth is what its
 * records state (`withStatedMemoryBandwidth`). The report runs it at a 500 W power limit and says its
 * peak lies between H100 SXM's and H100 NVL's, not known exactly (it computes MFU with SXM's, a lower
 * bound): priced at the middle of that range, every tensor peak scaled alike, since the cap lowers the
 * clock they all run at.
 */
export function h100With96GiB(): GpuSpec {
  const spec = findGpu('H100-80GB')!.spec;
  const sxm = spec.peakTflops.bf16 ?? spec.peakTflops.fp16;
  const share = (H100_NVL_BF16_TFLOPS + sxm) / 2 / sxm;
  const peakTflops = Object.fromEntries(
    Object.entries(spec.peakTflops).map(([dtype, tflops]) => [dtype, tflops * share]),
  ) as GpuSpec['peakTflops'];
  return { ...spec, name: 'H100-96GB', memoryBytes: 96 * GiB, peakTflops };
}

/**
 * The catalog GPU a record's `gpu_type` (and `gpu_memory_gb`, where the type leaves the size out)
 * names. Order matters: "GB300"/"GB200" before "B300"/"B200", "H200"/"H800" before "H100". An H100 on
 * a PCIe card (PCIe, NVL) is refused: it has fewer SMs and lower peaks than the SXM part and its node
 * no NVSwitch, and the catalog has neither.
 */
export function catalogGpu(id: string, gpuType: string, memoryGb: number | null): string | GpuSpec {
  const t = gpuType.toUpperCase();
  const memory = memoryGb ?? Number(/(\d+)\s*GB/.exec(t)?.[1] ?? Number.NaN);
  if (t.includes('GB300')) return 'GB300-288GB';
  if (t.includes('B300')) return 'B300-288GB';
  if (t.includes('GB200')) return 'GB200-186GB';
  if (t.includes('B200')) return 'B200-180GB';
  if (t.includes('H200')) return 'H200-141GB';
  if (t.includes('H800')) return 'H800-80GB';
  if (t.includes('H100') && /PCIE|\bNVL\b/.test(t))
    throw new RecordError(
      id,
      'cluster.gpu_type',
      `"${gpuType}" is a PCIe H100, which the catalog does not hold`,
    );
  if (t.includes('H100')) return memory === 96 ? h100With96GiB() : 'H100-80GB';
  if (t.includes('A100')) return memory === 40 ? 'A100-40GB' : 'A100-80GB';
  if (t.includes('V100')) return memory === 16 ? 'V100-16GB' : 'V100-32GB';
  if (t.includes('MI300X')) return 'MI300X-192GB';
  throw new RecordError(id, 'cluster.gpu_type', `no catalog GPU matches "${gpuType}"`);
}

/** DGX A100 / DGX H100 nodes, where a record leaves the field empty (the Megatron README does). */
export const DEFAULT_GPUS_PER_NODE = 8;

/**
 * GPUs in one NVLink domain of the rack-scale parts: a GB200 or GB300 NVL72 rack links its 72 GPUs
 * through NVLink switches (its product pages), so meshplan's node, the NVLink domain, is the rack.
 */
const RACK_NVLINK_DOMAIN: Readonly<Record<string, number>> = { 'GB200-186GB': 72, 'GB300-288GB': 72 };

/**
 * The nodes a record's GPUs sit in, as meshplan prices them (a node is one NVLink domain): for a
 * rack-scale part the job spread evenly over the fewest racks that hold it — a record's "GPUs per
 * node" there is a compute tray's 4, or the rack's 72 where the job used fewer — else the record's
 * node size (8 where it states none).
 */
export function nodesOf(
  gpu: string | GpuSpec,
  gpus: number,
  statedPerNode: number | null,
): { nodes: number; gpusPerNode: number } {
  const domain = typeof gpu === 'string' ? RACK_NVLINK_DOMAIN[gpu] : undefined;
  if (domain !== undefined) {
    const racks = Math.ceil(gpus / domain);
    if (gpus % racks === 0) return { nodes: racks, gpusPerNode: gpus / racks };
  }
  const perNode = statedPerNode ?? DEFAULT_GPUS_PER_NODE;
  return { nodes: gpus / perNode, gpusPerNode: perNode };
}

/**
 * FP4 GEMMs other than NVFP4 (MXFP4) are not priced: a record that trained in them is refused rather
 * than priced in another format.
 */
export function refuseUnpricedPrecision(id: string, field: string, text: string | null | undefined): void {
  if (/fp4/i.test(text ?? '') && !/nvfp4/i.test(text ?? ''))
    throw new RecordError(
      id,
      field,
      `"${text}": meshplan prices no FP4 GEMMs but NVFP4's (its precisions: bf16, fp16, fp8, nvfp4)`,
    );
}

/**
 * Activations kept in host memory instead of the GPU's (Megatron-Core's cpu_offloading with a number
 * of layers): meshplan prices no offloading, so the run would be priced as holding them all — a record
 * that says so is refused rather than priced not to fit.
 */
export function refuseActivationOffload(id: string, field: string, text: string): void {
  const layers = numberAfter(text, 'cpu[-_]offloading[-_]num[-_]layers');
  if (layers !== null && layers > 0 && switchOf(text, 'cpu[-_]offloading') !== false)
    throw new RecordError(
      id,
      field,
      `the run keeps ${layers} layers' activations in host memory (cpu_offloading_num_layers), which meshplan does not price`,
    );
}

/** The spec a record's GPU names: the catalog's for an id, the description itself otherwise. */
export function specOf(gpu: string | GpuSpec): GpuSpec | undefined {
  return typeof gpu === 'string' ? findGpu(gpu)?.spec : gpu;
}

/**
 * The GPU priced at the HBM bandwidth its record states, where it states one ("HBM2e 2.4 TB/s"): a
 * part the catalog lacks borrows a sibling's figures (h100With96GiB), and its memory-bound kernels
 * must stream at its own bandwidth, not the sibling's.
 */
export function withStatedMemoryBandwidth(gpu: string | GpuSpec, clusterText: string): string | GpuSpec {
  const stated = /\bHBM\w*\s+(\d+(?:\.\d+)?)\s*TB\/s/i.exec(clusterText);
  if (stated === null) return gpu;
  const spec = specOf(gpu);
  return spec === undefined ? gpu : { ...spec, hbmGBps: Number(stated[1]) * 1000 };
}

/** InfiniBand generations' per-port line rates, Gb/s, where a record names the link, not its rate. */
const INFINIBAND_GBITS: Readonly<Record<string, number>> = { EDR: 100, HDR: 200, NDR: 400, XDR: 800 };

/** A rate in Gb/s from a number and its unit as records write them ("200 Gbps", "400 Gb/s", "25 GB/s"). */
function gbitsOf(value: string, unit: string): number {
  return unit === 'GB/s' ? Number(value) * 8 : Number(value);
}

const RATE = String.raw`(\d+(?:\.\d+)?)\s*(Gbps|Gb\/s|Gbit\/s|Gb|GB\/s)`;

/**
 * Each GPU's network line rate across nodes, GB/s per direction, as a record's network fields state
 * it: per GPU ("400 Gb/s per GPU", "(= 200 Gbps per GPU)"), else per node over its GPUs ("8 x 200
 * Gbps HDR per node", "400 Gbps EFA per node", "8x HDR"); null where they state none. A rate is a
 * line rate, not what NCCL reaches (the generation's `network` factor prices that).
 */
export function statedInterNodeGBps(text: string, gpusPerNode: number): number | null {
  // Case matters in the unit (Gb/s against GB/s), so the words around it are spelled both ways.
  const perGpu = new RegExp(`${RATE}[^;,()]*?\\b[Pp]er\\s+(?:GPU|gpu)`).exec(text);
  if (perGpu) return gbitsOf(perGpu[1]!, perGpu[2]!) / 8;
  const counted = new RegExp(`(\\d+)\\s*[x×]\\s*${RATE}`).exec(text);
  if (counted) return (Number(counted[1]) * gbitsOf(counted[2]!, counted[3]!)) / 8 / gpusPerNode;
  const named = /(\d+)\s*[x×]\s*(EDR|HDR|NDR|XDR)\b/.exec(text);
  if (named) return (Number(named[1]) * INFINIBAND_GBITS[named[2]!]!) / 8 / gpusPerNode;
  const perNode = new RegExp(`${RATE}[^;,()]*?\\b[Pp]er\\s+[Nn]ode`).exec(text);
  if (perNode) return gbitsOf(perNode[1]!, perNode[2]!) / 8 / gpusPerNode;
  return null;
}

/** The fields a record describes its network in (both formats name them alike). */
export function networkText(cluster: {
  readonly inter_node_link?: string | null;
  readonly inter_node_bw?: string | null;
}): string {
  return `${cluster.inter_node_link ?? ''}; ${cluster.inter_node_bw ?? ''}`;
}

/**
 * The inter-node rate a record's run is priced at: the one it states, else the catalog's typical node
 * for its GPU — for a part the catalog lacks (h100With96GiB), its generation's first part's, not the
 * 25 GB/s a described GPU would otherwise get.
 */
export function interNodeGBpsOf(gpu: string | GpuSpec, network: string, gpusPerNode: number): number {
  const stated = statedInterNodeGBps(network, gpusPerNode);
  if (stated !== null) return stated;
  const name = typeof gpu === 'string' ? gpu : gpu.name;
  const entry =
    findGpu(name) ??
    Object.values(GPU_CATALOG).find((g) => typeof gpu !== 'string' && g.spec.generation === gpu.generation);
  if (entry === undefined) throw new Error(`${name}: no catalog node to take the network from`);
  return entry.defaultInterNodeGBps;
}

/**
 * The training precision a record's prose (or its precision class) names: NVFP4, MXFP8, FP8; else the first of
 * FP16 and BF16 it names ("fp16 mixed precision (V100 has no bf16)" is FP16); where it names neither
 * ("mixed precision"), the GPU's 16-bit tensor-core format: BF16, or FP16 on a GPU without BF16
 * tensor cores (V100), whose mixed precision then was FP16 with loss scaling.
 */
export function precisionOf(text: string | null | undefined, gpu: string | GpuSpec): Precision {
  const t = (text ?? '').toLowerCase();
  if (t.includes('nvfp4')) return 'nvfp4';
  if (t.includes('mxfp8')) return 'mxfp8';
  if (t.includes('fp8') || t.includes('float8')) return 'fp8';
  const fp16 = /\bfp16\b|--fp16|\bfloat16\b|\bhalf\b/.exec(t)?.index ?? Number.POSITIVE_INFINITY;
  const bf16 = /\bbf16\b|bfloat16/.exec(t)?.index ?? Number.POSITIVE_INFINITY;
  if (fp16 < bf16) return 'fp16';
  if (bf16 < fp16) return 'bf16';
  const spec = specOf(gpu);
  return spec !== undefined && spec.peakTflops.bf16 === undefined ? 'fp16' : 'bf16';
}

/**
 * A record's activation as meshplan names it. gpt-oss's "swiglu (clamped, quick-gelu gated
 * variant)" is the quick GeGLU (Megatron-LM's --quick-geglu), a gated GELU GeGLU, and a plain ReLU
 * MLP (OPT) the GELU one: the same two GEMMs and one elementwise op between them.
 */
export function activationOf(id: string, text: string): Activation {
  const t = text.toLowerCase();
  if (/quick[- ]?ge(?:lu|glu)/.test(t)) return 'quick-geglu';
  if (t.includes('swiglu') || t.includes('silu') || t.includes('swish')) return 'swiglu';
  if (t.includes('geglu') || /gated[- ]gelu/.test(t)) return 'geglu';
  if (t.includes('squared') || /relu\s*(²|\^\s*2|2)/.test(t)) return 'squared-relu';
  if (t.includes('gelu') || /\brelu\b/.test(t)) return 'gelu';
  throw new RecordError(id, 'model.activation', `no mapping for "${text}"`);
}

/**
 * The activation a record states, else the one its MLP's width implies: GPT's ungated MLP is 4 ×
 * hidden wide; gated MLPs (Llama, Mistral, Qwen, DeepSeek) are narrower (8/3 to 3.5 ×) and the modern
 * records' usual kind, so a record stating neither is read as SwiGLU.
 */
export function statedOrImpliedActivation(
  id: string,
  model: { readonly activation: string | null; readonly hidden: number; readonly ffn_hidden: number | null },
): Activation {
  if (model.activation !== null && model.activation.trim() !== '') return activationOf(id, model.activation);
  return model.ffn_hidden === 4 * model.hidden ? 'gelu' : 'swiglu';
}

/**
 * The sliding window a record's architecture notes describe: "sliding-window (128 tokens)" on every
 * layer, or "alternating sliding-window (…) / full attention layers" (gpt-oss: windowed first, as
 * Megatron-Bridge's gpt-oss bridge sets window_attn_skip_freq 2); none when they name no window.
 */
export function slidingWindowOf(notes: string): { size: number; fullAttentionEvery?: number } | null {
  const found = /(alternating\s+)?sliding[- ]window\s*\((\d[\d,]*)\s*tokens?\)/i.exec(notes);
  if (found === null) return null;
  const size = Number(found[2]!.replaceAll(',', ''));
  return found[1] === undefined ? { size } : { size, fullAttentionEvery: 2 };
}

/** A record's ZeRO stage: the one it states (0–3, else refused), or `unstated`'s when it gives none. */
export function zeroStageOf(id: string, stated: number | null | undefined, unstated: ZeroStage): ZeroStage {
  if (stated === null || stated === undefined) return unstated;
  const parsed = ZeroStage.safeParse(stated);
  if (!parsed.success)
    throw new RecordError(id, 'training.zero_stage', `${stated} is not a ZeRO stage (0–3)`);
  return parsed.data;
}

/** Recomputation as a record's prose states it; unstated or "none" is none. */
export function recomputeOf(text: string | null | undefined): Recompute {
  const t = (text ?? '').toLowerCase();
  if (t.includes('selective') || t.includes('per-op')) return 'selective';
  if (t.includes('full')) return 'full';
  return 'none';
}

/**
 * The Megatron-LM modules a record's selective recomputation names ("recompute_modules moe_act,
 * layernorm", "recompute_modules ['mla_up_proj']"); null where it names none (Megatron's default, the
 * attention core). A name meshplan does not know is refused rather than dropped.
 */
export function recomputeModulesOf(id: string, text: string | null | undefined): RecomputeModule[] | null {
  const listed = /recompute_modules\s*[:=]?\s*\[?([\w'", ]*)\]?/i.exec(text ?? '');
  if (listed === null) return null;
  const names = listed[1]!.split(/[\s,'"]+/).filter((name) => name !== '');
  if (names.length === 0) return null;
  return names.map((name) => {
    const module = RecomputeModule.safeParse(name);
    if (!module.success)
      throw new RecordError(
        id,
        'training.recompute',
        `recompute module "${name}" is not one meshplan prices`,
      );
    return module.data;
  });
}

/**
 * Whether a record says what it recomputed — "none (activations_checkpoint_* null)" does, "not listed
 * for B200" and "Recompute not listed." do not. A run whose record is silent recomputed whatever let
 * it fit (reference-runs.ts `leastRecomputeThatFits`).
 */
export function recomputeStated(text: string | null | undefined): boolean {
  const t = text ?? '';
  return (
    recomputeOf(t) !== 'none' ||
    /\bnone\b|\bnull\b|\bno activation (?:recompute|checkpoint)|\bdisabled\b/i.test(t)
  );
}

/**
 * Transformer Engine's tensor-parallel communication overlap as a record's prose states it (NeMo's
 * `ub_tp_comm_overlap true|false`, Megatron-LM's `--tp-comm-overlap`, `tp_comm_overlap=False`); null
 * where it does not say.
 */
export function tpCommOverlapOf(text: string): boolean | null {
  return switchOf(text, '(?:ub_)?tp[-_]comm[-_]overlap');
}

/**
 * The peak memory a record measured, as its prose writes it ("Peak memory 84.2 GiB", "peak memory:
 * 47.96 GiB"), in GiB; null where it names none. GB is read as written, not converted: the sources
 * here print what PyTorch's allocator reports, which is binary.
 */
export function peakMemoryOf(text: string): number | null {
  const match = /peak memory[^0-9]{0,20}(\d+(?:\.\d+)?)\s*Gi?B/i.exec(text);
  return match === null ? null : Number(match[1]);
}

/**
 * A run in PyTorch's eager mode, where a record says so ("no torch.compile", or "eager" without naming
 * torch.compile as what it ran): its gated activation and its RMSNorm run as separate kernels
 * (TransformerSpec.activationFusion and normFusion false).
 */
export function eagerModeOf(text: string): boolean {
  if (/\b(?:no|without)\s+torch\.compile/i.test(text)) return true;
  return /\beager\b/i.test(text) && !/torch\.compile/i.test(text);
}

/** torchtitan's Async TP where a record names it ("AsyncTP", "Async TP", enable_async_tensor_parallel). */
export function asyncTensorParallelOf(text: string): boolean {
  return /async[\s_-]?t(?:ensor[\s_-]?parallel|p)\b/i.test(text);
}

/**
 * A switch a record names (`name`, a regular expression's source), as a flag or a config key:
 * `name true|false` / `name=False` say which, the bare name (a command-line flag) is on; null where
 * the record does not name it.
 */
function switchOf(text: string, name: string): boolean | null {
  const match = new RegExp(`${name}\\b[\\s:=]*(true|false)?`, 'i').exec(text);
  if (match === null) return null;
  return match[1] === undefined || match[1].toLowerCase() === 'true';
}

/** The number a record writes after `name` (a regular expression's source), `name 2` or `name=2`. */
function numberAfter(text: string, name: string): number | null {
  const match = new RegExp(`${name}\\b[\\s:=]*(\\d+(?:\\.\\d+)?)`, 'i').exec(text);
  return match === null ? null : Number(match[1]);
}

/**
 * Megatron-Core's all-to-all overlap with another microbatch's compute as a record's prose states it
 * (Megatron-Bridge's `moe_a2a_overlap`, `--overlap-moe-expert-parallel-comm`); null where it does not say.
 */
export function expertCommOverlapOf(text: string): boolean | null {
  return switchOf(text, '(?:moe_a2a_overlap|overlap[-_]moe[-_]expert[-_]parallel[-_]comm)');
}

/**
 * Megatron-LM's FP8 parameter gathering as a record's prose states it (`--fp8-param-gather`,
 * Megatron-Bridge's `fp8_param_gather`, NeMo's `fp8_params`); null where it does not say.
 */
export function fp8ParamGatherOf(text: string): boolean | null {
  return switchOf(text, '(?:fp8[-_]param[-_]gather|fp8[-_]params)');
}

/**
 * Megatron-LM's NVFP4 parameter gathering as a record's prose states it (`--fp4-param-gather`,
 * Megatron-Bridge's `fp4_param_gather`); null where it does not say.
 */
export function fp4ParamGatherOf(text: string): boolean | null {
  return switchOf(text, 'fp4[-_]param[-_]gather');
}

/**
 * Megatron-Core's first and last layers kept in bf16 as a record's prose states them (Megatron-Bridge's
 * `first_last_layers_bf16 True` with `num_layers_at_start_in_bf16` / `num_layers_at_end_in_bf16`, or
 * the command line's dashed flags): a count the prose does not name is 0, Megatron-Bridge's
 * MixedPrecisionConfig default, which its precision configs hand the model (Megatron-Core's own is 1).
 * Null where the switch is off or not named.
 */
export function bf16LayersOf(text: string): Bf16Layers | null {
  if (switchOf(text, 'first[-_]last[-_]layers[-_]bf16') !== true) return null;
  return {
    first: numberAfter(text, 'num[-_]layers[-_]at[-_]start[-_]in[-_]bf16') ?? 0,
    last: numberAfter(text, 'num[-_]layers[-_]at[-_]end[-_]in[-_]bf16') ?? 0,
  };
}

/** torchtitan's per-rank batch as a record's prose gives it (`local_batch_size 2`), else null. */
export function localBatchOf(text: string): number | null {
  return numberAfter(text, 'local[_ ]batch[_ ]size');
}

/** An MoE's capacity factor as the record writes it (`moe_expert_capacity_factor 1.0`), else null. */
export function capacityFactorOf(text: string): number | null {
  return numberAfter(text, 'capacity[_ ]factor');
}

/**
 * Megatron-Core's flex token dispatcher where the record names it or a backend only it runs
 * (HybridEP, DeepEP); null leaves the all-to-all dispatcher.
 */
export function flexDispatcherNamed(text: string): boolean {
  return /\bflex dispatcher\b|\bhybrid-?ep\b|\bdeep-?ep\b/i.test(text);
}

/**
 * The expert tensor-parallel size a record implies where its `etp` field is empty but its prose says
 * the framework defaulted it to TP ("ETP not set (defaults to TP=4 …)"): NeMo before 2025 did.
 */
export function expertTensorParallelDefaultsToTp(text: string): boolean {
  return /\bETP (?:not set|unset)\b[^.;]*\bdefaults? to TP\b/i.test(text);
}

/**
 * The year a record's source was published: its date, else a year in its citation or URL, else an
 * arXiv identifier's (YYMM.NNNNN). Null when none says.
 */
export function publicationYear(source: {
  readonly date?: string | null;
  readonly citation?: string | null;
  readonly url?: string | null;
  readonly primary?: string | null;
}): number | null {
  const date = /^(\d{4})/.exec(source.date ?? '');
  if (date) return Number(date[1]);
  const text = `${source.citation ?? ''} ${source.primary ?? ''} ${source.url ?? ''}`;
  const arxiv = /arXiv:(\d{2})(\d{2})\.\d{4,5}/i.exec(text);
  if (arxiv) return 2000 + Number(arxiv[1]);
  const year = /\b(20\d{2})\b/.exec(text);
  return year ? Number(year[1]) : null;
}

/**
 * Megatron-LM's runtime in a given year, where a record is silent: FlashAttention-class fused
 * attention from 2023 (TE's fused attention and --use-flash-attn; before, the eager softmax), the
 * input-gradient reduction asynchronous from September 2021 (so from 2022 here), gradient reduction
 * overlapped with the backward (--overlap-grad-reduce) and the distributed optimizer from 2023,
 * sequence parallelism with tensor parallelism from 2022 (Korthikanti et al.). Before 2023 a run's
 * data-parallel runtime decides the overlap (`gradReduceOverlapped`).
 */
export function megatronOfYear(year: number | null) {
  const y = year ?? 2024;
  return {
    attention: y >= 2023 ? ('flash' as const) : ('eager' as const),
    overlapInputGradientReduce: y >= 2022,
    overlapGradReduce: y >= 2023,
    distributedOptimizer: y >= 2023,
    sequenceParallel: y >= 2022,
  };
}

/**
 * Whether a Megatron-LM run overlapped its gradient reduction with the backward, where its record is
 * silent. From 2023, yes (--overlap-grad-reduce). Before, only under torch's DistributedDataParallel
 * (--DDP-impl torch: buckets reduced as the backward fills them), which Megatron-LM's own scripts
 * chose for runs without pipeline parallelism and not for pipelined ones (examples/sc21/run_table_1.sh
 * at 3d718bfc31: DDP=torch for the 1.7B–18B runs, local from 39B on; the README's distributed
 * examples of 2020 pass --DDP-impl torch); its `local` DDP all-reduced after the backward. ZeRO-3 runs
 * of then were DeepSpeed's, which neither describes: they keep the year's rule.
 */
export function gradReduceOverlapped(year: number | null, pipelined: boolean, zero: ZeroStage): boolean {
  return megatronOfYear(year).overlapGradReduce || (!pipelined && zero < 3);
}

/**
 * How a ZeRO-3 run of a given year cut its collectives, where its record is silent. ZeRO-3 then was
 * DeepSpeed's (Megatron-LM had none), which before v0.5.5 (2 November 2021) gathered and reduced
 * parameter by parameter over lists of per-rank tensors (runtime/zero/partition_parameters.py,
 * v0.3.13 to v0.5.4); from v0.5.5 it coalesces a module's parameters, and FSDP and Megatron-FSDP go
 * a unit at a time.
 */
export function zero3CollectivesOfYear(year: number | null): Zero3Collectives {
  return year !== null && year <= 2021 ? 'per-tensor-list' : 'per-layer';
}

/**
 * Where a record's layers do not split evenly over its pipeline chunks, the split its framework makes,
 * as `stageLayers`. Megatron-Core's recipes count the embedding and the loss as a block each
 * (Megatron-Bridge's Llama 3.1 405B and Qwen3 recipes set account_for_embedding_in_pipeline_split and
 * account_for_loss_in_pipeline_split); torchtitan cuts as torchtitanStageSplit does. Where the
 * embedding-and-loss count does not divide either (DeepSeek-V3's 61 blocks on 16 stages), the run
 * must have set an explicit layout (Megatron-Core's pipeline_model_parallel_layout, whose DeepSeek-V3
 * recipes give the end chunks fewer blocks): torchtitan's cut, the ends lighter, stands for it.
 */
export function stageSplitOf(layers: number, pp: number, virtualStages: number, family: string) {
  if (layers % (pp * virtualStages) === 0) return {};
  const split =
    family === 'torchtitan'
      ? torchtitanStageSplit(layers, pp, virtualStages)
      : (embeddingAndLossSplit(layers, pp, virtualStages) ?? torchtitanStageSplit(layers, pp, virtualStages));
  return split === null ? {} : { stageLayers: split };
}

/**
 * Blocks per pipeline stage as torchtitan cuts them without split points (9dec370,
 * parallelisms/pipelining_utils.py generate_split_points): pp · virtualStages chunks, the first of
 * ⌊layers / chunks⌋ blocks, the middle ones one more while the remainder lasts, the last what is left;
 * stage r runs chunks r, r + pp, … (stage_ids_this_rank, style "loop"). Null where a chunk would be
 * empty (torchtitan refuses more chunks than layers).
 */
export function torchtitanStageSplit(layers: number, pp: number, virtualStages: number): number[] | null {
  const chunks = pp * virtualStages;
  if (chunks > layers) return null;
  const base = Math.floor(layers / chunks);
  let extra = layers % chunks;
  const sizes: number[] = [base];
  for (let i = 1; i < chunks - 1; i++) {
    sizes.push(extra > 0 ? base + 1 : base);
    if (extra > 0) extra--;
  }
  if (chunks > 1) sizes.push(layers - sizes.reduce((a, b) => a + b, 0));
  if (sizes.some((n) => n <= 0)) return null;
  return Array.from({ length: pp }, (_, stage) =>
    sizes.filter((_, chunk) => chunk % pp === stage).reduce((a, b) => a + b, 0),
  );
}
