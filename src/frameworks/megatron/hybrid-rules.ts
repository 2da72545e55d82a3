/**
 * What Megatron-LM core_v0.19.0's hybrid model (pretrain_hybrid.py: HybridModel built from
 * hybrid_layer_specs.py's hybrid_stack_spec) needs of a hybrid plan beyond what its GPT model needs,
 * read from megatron/core/ssm/mamba_mixer.py, mamba_layer.py and hybrid_layer_allocation.py. Each
 * reason names the field of the request to change.
 */
import type { MambaDims, TransformerDims } from '../../model/dims.ts';
import { packedProjectionColumns } from '../../model/mamba.ts';
import type { RunShape } from '../framework.ts';
import { hybridSegments, rankLayers } from './pipeline.ts';

/**
 * MambaLayer builds its mixer with MambaMixer's own convolution width and scan chunk (d_conv 4,
 * chunk_size 128): no argument or config field reaches them in training.
 */
const MIXER_CONV_TAPS = 4;
const MIXER_CHUNK_TOKENS = 128;

/** What the hybrid stack cannot build as priced, whatever the parallelism. */
export function hybridModelProblems(m: TransformerDims | null): (string | null)[] {
  if (m === null || m.mamba === null) return [];
  const { convKernel, chunkSize } = m.mamba;
  return [
    convKernel !== MIXER_CONV_TAPS
      ? `Megatron-LM's Mamba mixer convolves over ${MIXER_CONV_TAPS} taps, which no argument changes, and model.mamba.convKernel is ${convKernel}`
      : null,
    chunkSize !== MIXER_CHUNK_TOKENS
      ? `Megatron-LM's Mamba mixer scans in chunks of ${MIXER_CHUNK_TOKENS} tokens, which no argument changes, and model.mamba.chunkSize is ${chunkSize}`
      : null,
  ];
}

/**
 * MambaContextParallel's asserts (mamba_context_parallel.py): the scan takes the whole sequence of
 * heads/cp of a tensor-parallel rank's heads, so those divide over cp; a rank's groups either divide
 * over cp or, fewer than cp, divide it (each group's B and C then repeated on the ranks sharing it).
 */
function contextParallelProblems(shape: RunShape, mamba: MambaDims): (string | null)[] {
  const { tp, cp } = shape;
  if (cp <= 1 || mamba.heads % tp !== 0 || mamba.groups % tp !== 0) return [];
  const heads = mamba.heads / tp;
  const groups = mamba.groups / tp;
  return [
    heads % cp !== 0
      ? `each tensor-parallel rank's ${heads} Mamba heads (model.mamba.heads over tp = ${tp}) do not divide over cp = ${cp}, and Megatron-LM's Mamba context parallelism gives each cp rank whole heads`
      : null,
    groups < cp && cp % groups !== 0
      ? `cp = ${cp} is not a multiple of the ${groups} Mamba groups a tensor-parallel rank holds (model.mamba.groups over tp = ${tp}), which Megatron-LM's Mamba context parallelism repeats over the cp ranks`
      : null,
    groups >= cp && groups % cp !== 0
      ? `the ${groups} Mamba groups a tensor-parallel rank holds (model.mamba.groups over tp = ${tp}) do not divide over cp = ${cp}`
      : null,
  ];
}

/**
 * MambaMixer's asserts: each tensor-parallel rank holds whole heads and whole groups, and under FP8
 * (config.fp8, which MXFP8 sets too; NVFP4 sets config.fp4) the packed projection's width is a
 * multiple of 16.
 */
function mixerParallelProblems(shape: RunShape, mamba: MambaDims): (string | null)[] {
  const { tp, precision } = shape;
  const columns = packedProjectionColumns(mamba);
  return [
    ...contextParallelProblems(shape, mamba),
    mamba.heads % tp !== 0
      ? `its ${mamba.heads} Mamba heads (model.mamba.heads) do not divide over tp = ${tp}`
      : null,
    mamba.groups % tp !== 0
      ? `its ${mamba.groups} Mamba groups (model.mamba.groups) do not divide over tp = ${tp}`
      : null,
    (precision === 'fp8' || precision === 'mxfp8') && columns % 16 !== 0
      ? `under ${precision.toUpperCase()} Megatron-LM's Mamba mixer needs its input projection's ${columns} columns (2·heads·headDim + 2·groups·stateDim + heads, model.mamba) to be a multiple of 16`
      : null,
  ];
}

/** Each layer symbol's count in `layers`, in a fixed order: a comparable summary of a rank's layers. */
function composition(layers: string): string {
  const counts = new Map<string, number>();
  for (const symbol of layers) counts.set(symbol, (counts.get(symbol) ?? 0) + 1);
  return [...counts.entries()]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([symbol, n]) => `${n} ${symbol}`)
    .join(', ');
}

/**
 * Interleaving hands rank i the segments i, i + pp, … of the pattern, where the plan priced stage i
 * on its own contiguous layers: the two agree only when they hold the same layers.
 */
function interleavingProblem(shape: RunShape, pattern: string): string | null {
  const blocks = shape.blocksPerStage;
  if (blocks === null || shape.virtualStages < 2 || blocks.length < 2) return null;
  const segments = hybridSegments(pattern, blocks, shape.virtualStages);
  let first = 0;
  for (const [rank, n] of blocks.entries()) {
    const planned = composition(pattern.slice(first, first + n));
    const interleaved = composition(rankLayers(segments, shape.pp, rank));
    first += n;
    const held = Array.from({ length: shape.virtualStages }, (_, k) => k * shape.pp + rank).join(', ');
    if (planned !== interleaved)
      return `with ${shape.virtualStages} virtual stages Megatron-LM gives pipeline rank ${rank} the pattern's segments ${held}, whose layers are ${interleaved}, where the plan priced its stage with ${planned}: plan without parallel.virtualStages, or with parallel.stageLayers whose chunks hold each stage's layers`;
  }
  return null;
}

/** What the hybrid model cannot run in this configuration. */
export function hybridRunProblems(shape: RunShape): (string | null)[] {
  const m = shape.model;
  if (m === null || m.hybridPattern === null) return [];
  return [
    ...hybridModelProblems(m),
    ...(m.mamba === null ? [] : mixerParallelProblems(shape, m.mamba)),
    interleavingProblem(shape, m.hybridPattern),
  ];
}
