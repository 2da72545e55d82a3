/**
 * A plan written as each framework's settings (DESIGN.md §8, §9): exact for the release named in
 * `release`. `expressible` false: the framework cannot run this plan as planned; `notes` say why,
 * and the settings stay empty rather than describe another plan.
 */
import { z } from 'zod';
import { LayerNameRange, LayerRange } from './layer-range.ts';
import { Summary } from './summary.ts';

/** A file a user runs or passes to the framework: the first of `files` is the main artefact. */
export const ExportFile = z.object({
  path: z.string(),
  /** What the file is and how to use it. */
  description: z.string(),
  content: z.string(),
});
export type ExportFile = z.infer<typeof ExportFile>;

const common = {
  expressible: z.boolean(),
  /** The framework release these settings are exact for, e.g. "Megatron-LM core_v0.19.0". */
  release: z.string(),
  notes: z.array(z.string()),
  /** What `meshplan export` writes; empty when not expressible. */
  files: z.array(ExportFile),
};

export const MegatronExport = z.object({
  ...common,
  /** Arguments of `pretrain_gpt.py` (`pretrain_hybrid.py` for a hybrid Mamba model), one word each. */
  args: z.array(z.string()),
  /** The entry script and its arguments as a shell command line (quoted where bash needs it). */
  command: z.string(),
});
export type MegatronExport = z.infer<typeof MegatronExport>;

export const TorchtitanExport = z.object({
  ...common,
  /** The job config as TOML tables (nested objects); `files` holds it as TOML text. */
  config: z.record(z.string(), z.unknown()),
});
export type TorchtitanExport = z.infer<typeof TorchtitanExport>;

/**
 * How a DeepSpeed export asks `PipelineModule` to split the layers: `type:TransformerBlock` balances
 * the transformer blocks, `uniform` the layer count, `parameters` the layers' parameter counts.
 */
export const DeepSpeedPartitionMethod = z.enum(['type:TransformerBlock', 'uniform', 'parameters']);
export type DeepSpeedPartitionMethod = z.infer<typeof DeepSpeedPartitionMethod>;

export const DeepSpeedExport = z.object({
  ...common,
  /** The DeepSpeed config JSON (`files[0]`, ds_config.json). */
  config: z.record(z.string(), z.unknown()),
  /**
   * With pipeline parallelism: the arguments the training script passes to `PipelineModule` (the
   * stage split is not read from the config, DeepSpeed computes it); null without.
   */
  pipelineModule: z
    .object({
      num_stages: z.number().int(),
      partition_method: DeepSpeedPartitionMethod,
      /** Layers per activation checkpoint: 1 checkpoints layer by layer (full recomputation), 0 none. */
      activation_checkpoint_interval: z.number().int(),
      /**
       * The layer classes those checkpoints may cover (`checkpointable_layers`): the transformer block
       * alone under full recomputation, as priced (the embedding, final norm and head run once); null
       * without recomputation.
       */
      checkpointable_layers: z.array(z.string()).nullable(),
      /**
       * The stage boundaries DeepSpeed computes over the layer list (embedding, blocks, final norm,
       * head), `PipelineModule.partitions()`: stage s holds layers parts[s] to parts[s + 1] − 1.
       */
      parts: z.array(z.number().int()),
    })
    .nullable(),
});
export type DeepSpeedExport = z.infer<typeof DeepSpeedExport>;

/** Where a plan's stages sit for JAX: each stage runs on its own mesh over its layer range. */
export const JaxStageMap = z.object({
  stage: z.number().int(),
  layers: LayerRange,
  layerNames: LayerNameRange,
  meshShape: z.array(z.number().int()),
  /**
   * The layer ranges the stage's devices run, in order: `layers` itself, or with an interleaved
   * schedule of v model chunks per stage, chunk k = virtual stage k·pp + stage (Megatron's order).
   */
  chunks: z.array(LayerRange),
});
export type JaxStageMap = z.infer<typeof JaxStageMap>;

/** A `PartitionSpec` entry: None (replicated), one mesh axis, or a tuple of axes. */
export const PartitionEntry = z.union([z.string(), z.array(z.string()).min(2), z.null()]);
export type PartitionEntry = z.infer<typeof PartitionEntry>;

export const JaxExport = z.object({
  ...common,
  /** The mesh axis names, the same on every stage's mesh. */
  meshAxes: z.array(z.string()),
  /** Device count along each of `meshAxes` on stage 0's mesh (each stage's own: `stages`). */
  meshShape: z.array(z.number().int()),
  /**
   * Per parameter, one entry per tensor dim, as `jax.sharding.PartitionSpec` takes it: the layout
   * the ops read it in, on the mesh of the stage that holds it.
   */
  partitionSpecs: z.record(z.string(), z.array(PartitionEntry)),
  /**
   * With ZeRO over more than one data-parallel rank: per parameter, the layout of its optimizer
   * state (ZeRO 1), gradient accumulator (ZeRO 2) and stored weights (ZeRO 3): its spec with the
   * data-parallel axis added to a dim that axis divides. Null without ZeRO.
   */
  stateSpecs: z.record(z.string(), z.array(PartitionEntry)).nullable(),
  stages: z.array(JaxStageMap),
});
export type JaxExport = z.infer<typeof JaxExport>;

export const Exports = z.object({
  megatron: MegatronExport,
  deepspeed: DeepSpeedExport,
  torchtitan: TorchtitanExport,
  jax: JaxExport,
});
export type Exports = z.infer<typeof Exports>;

/** Why a framework has no plan here. */
const Unavailable = z.object({ available: z.literal(false), reason: z.string() });

/** The best plan one framework can run: its step time, how much slower than the plan, its export. */
function bestOf<E extends z.ZodType>(exports: E) {
  return z.discriminatedUnion('available', [
    z.object({
      available: z.literal(true),
      stepTimeSec: z.number(),
      /** Its step time ÷ the plan's (≥ 1). */
      slowdown: z.number(),
      summary: Summary,
      exports: exports,
    }),
    Unavailable,
  ]);
}

export const Frameworks = z.object({
  megatron: bestOf(MegatronExport),
  torchtitan: bestOf(TorchtitanExport),
  deepspeed: bestOf(DeepSpeedExport),
  jax: bestOf(JaxExport),
});
export type Frameworks = z.infer<typeof Frameworks>;
