/**
 * The model features Megatron-LM core_v0.19.0 can build from `pretrain_gpt.py` arguments, read from
 * `megatron/training/argument_utils.py` (core_transformer_config_from_args), validate_args and
 * MLATransformerConfig.
 */
import type { TransformerDims } from '../../model/dims.ts';
import { packedProjectionColumns } from '../../model/mamba.ts';
import { HYBRID_LAYER_SYMBOLS, quantizedGemmDtype } from '../../schema/index.ts';
import type { RunShape } from '../framework.ts';

/**
 * Transformer Engine's quantized GEMMs take operands whose inner dims are multiples of 16 in FP8, of
 * 32 in MXFP8 (fp8_utils.py get_fp8_align_size: its blocks) and in NVFP4 (fp4_utils.py
 * get_fp4_align_size: TMA's 16-byte alignment is 32 FP4 values): the
 * hidden size, and each rank's share of the dense and expert FFN and of the Mamba projections.
 */
const QUANTIZED_GEMM_MULTIPLE = { fp8: 16, mxfp8: 32, nvfp4: 32 } as const;

/**
 * Whether the model builds a dense MLP of model.ffnHidden: a hybrid model only in its `-` layers
 * (its `E` layers take the experts' sizes), a GPT model as before.
 */
export function usesFfnSize(m: TransformerDims): boolean {
  return m.hybridPattern === null || m.hybridPattern.includes(HYBRID_LAYER_SYMBOLS.mlp);
}

/**
 * A Mamba mixer's GEMM sizes per tp rank: its packed input projection's columns (z, x, B, C, dt) and
 * its output projection's input (heads · headDim).
 */
function mambaGemmSizes(m: TransformerDims, tp: number): (readonly [string, number])[] {
  const mamba = m.mamba;
  if (mamba === null) return [];
  const inner = mamba.heads * mamba.headDim;
  const packed = packedProjectionColumns(mamba);
  return [
    [`Mamba input projection per tp rank (${packed} / ${tp})`, packed / tp],
    [`Mamba output projection's input per tp rank (${inner} / ${tp})`, inner / tp],
  ];
}

function quantizedGemmProblem(shape: RunShape, m: TransformerDims): string | null {
  const quantized = quantizedGemmDtype(shape.precision);
  if (quantized === null) return null;
  const multiple = QUANTIZED_GEMM_MULTIPLE[quantized];
  const sizes = [
    ['hidden size', m.hidden],
    ...(usesFfnSize(m)
      ? ([[`FFN size per tp rank (${m.ffnHidden} / ${shape.tp})`, m.ffnHidden / shape.tp]] as const)
      : []),
    ...mambaGemmSizes(m, shape.tp),
    ...(m.moe === null
      ? []
      : ([
          [`expert FFN size per etp rank (${m.moe.ffnHidden} / ${shape.etp})`, m.moe.ffnHidden / shape.etp],
        ] as const)),
  ] as const;
  const bad = sizes.find(([, n]) => n % multiple !== 0);
  return bad === undefined
    ? null
    : `${shape.precision.toUpperCase()} GEMMs (Transformer Engine) need multiples of ${multiple}, and its ${bad[0]} is ${bad[1]}`;
}

/** What the command line cannot build, whatever the parallelism. */
export function modelFeatureProblems(m: TransformerDims | null): (string | null)[] {
  if (m === null) return [];
  return [
    // The command line sets the activation through --swiglu, --squared-relu and --quick-geglu
    // only (activation_func is not an argument); quick GeGLU gates with x·σ(1.702x), not GELU.
    m.activation === 'geglu'
      ? "Megatron-LM's command line has no GeGLU: --swiglu gates with SiLU and --quick-geglu with the sigmoid approximation x·σ(1.702·x), another model (activation_func is not an argument)"
      : null,
    ...gatedActivationProblems(m),
    // Transformer Engine runs the learnable softmax in cuDNN's fused attention and its unfused
    // path; the flash-attn package's kernels take no sink logit.
    m.attentionSinks && m.flashAttention2
      ? "FlashAttention-2's kernels take no sink logit (model.attentionSinks): Transformer Engine runs them in cuDNN's fused attention; price with model.attention 'flash'"
      : null,
    // validate_args: "Group query attention is mutually exclusive with multi latent attention."
    m.mla !== null && m.kvHeads !== m.heads
      ? `multi-latent attention has one key/value head per query head, and the model has ${m.kvHeads} key/value heads for ${m.heads} query heads`
      : null,
  ];
}

/**
 * Whether any layer runs a dense MLP (SharedExpertMLP is one): a hybrid model in its "-" layers, a
 * GPT model in every block without experts or in its leading dense ones; shared experts in either.
 */
function hasDenseMlp(m: TransformerDims): boolean {
  if ((m.moe?.sharedExperts ?? 0) > 0) return true;
  if (m.hybridPattern !== null) return m.hybridPattern.includes(HYBRID_LAYER_SYMBOLS.mlp);
  return m.moe === null || m.moe.denseLayers > 0;
}

/**
 * Where Megatron-Core's gated activation is not what the plan prices (mlp.py, experts.py,
 * transformer_config.py and argument_utils.py, core_v0.19.0). The quick GeGLU fuses with the
 * bias-GELU fusion, which --disable-bias-linear turns off, and only where the router's weight scales
 * it: a dense MLP's fused path raises "Only support fusion of gelu and swiglu". The fused SwiGLU
 * applies no clamp, and only the quick GeGLU takes an offset fused.
 */
function gatedActivationProblems(m: TransformerDims): (string | null)[] {
  const fusedQuick = m.activation === 'quick-geglu' && m.activationFusion;
  return [
    fusedQuick && !m.bias
      ? 'without biases (--disable-bias-linear) Megatron-LM turns its bias-GELU fusion off, and the quick GeGLU runs as separate kernels, not the fused one priced: price with model.activationFusion false'
      : null,
    fusedQuick && hasDenseMlp(m)
      ? 'Megatron-Core fuses the quick GeGLU only where the router\'s weight scales it (the experts); a dense MLP\'s fused path raises "Only support fusion of gelu and swiglu" (mlp.py): price with model.activationFusion false'
      : null,
    m.activationClamp !== null && m.activationFusion && m.activation !== 'quick-geglu'
      ? `Megatron-Core's fused ${m.activation} applies no clamp (model.activationClamp); its unfused activation does: price with model.activationFusion false`
      : null,
    m.gluLinearOffset !== 0 && m.activationFusion && m.activation !== 'quick-geglu'
      ? 'TransformerConfig refuses a fused activation with glu_linear_offset (model.gluLinearOffset) unless it is the quick GeGLU: price with model.activationFusion false'
      : null,
  ];
}

export function featureProblems(shape: RunShape): (string | null)[] {
  const m = shape.model;
  return [
    ...(m === null ? [] : [...modelFeatureProblems(m), quantizedGemmProblem(shape, m)]),
    // Past the key/value heads each rank's keys come from the gathered QKV output (attention.py);
    // the plan prices the q and k norms on head-split projections only.
    m?.qkNorm === true && m.kvHeads % shape.tp !== 0
      ? `the q and k norms (model.qkNorm) are priced where tp divides the ${m.kvHeads} key/value heads, and tp is ${shape.tp}`
      : null,
    quantizedParamGatherZeroProblem(shape),
    bf16LayersProblem(shape),
  ];
}

/**
 * TransformerConfig (core_v0.19.0, __post_init__) refuses, under FP8 (the fp8 and mxfp8 recipes),
 * more first or last layers in bf16 than a pipeline stage's share, num_layers // pp; NVFP4 has no
 * such check.
 */
function bf16LayersProblem(shape: RunShape): string | null {
  const m = shape.model;
  if (m === null || (shape.precision !== 'fp8' && shape.precision !== 'mxfp8')) return null;
  const perStage = Math.floor(m.layers / shape.pp);
  const { first, last } = m.bf16Layers;
  const over = first > perStage ? `${first} first` : last > perStage ? `${last} last` : null;
  return over === null
    ? null
    : `TransformerConfig keeps at most num_layers // pp = ${perStage} first or last layers in bf16 under FP8, and training.bf16Layers keeps the ${over}`;
}

/**
 * --fp8-param-gather needs the distributed optimizer or an FSDP (validate_args, core_v0.19.0); meshplan
 * prices it for the distributed optimizer and Megatron-FSDP's optim_grads, which gather parameters
 * once a step, not for optim_grads_params' per-layer gathers. --fp4-param-gather is the distributed
 * optimizer's alone: its buffer packs NVFP4 weights (param_and_grad_buffer.py, distrib_optimizer.py
 * quantize_nvfp4_param_shard), where Megatron-FSDP's configuration has an FP8 gather only.
 */
function quantizedParamGatherZeroProblem(shape: RunShape): string | null {
  if (!shape.quantizedParamGather || shape.zero === 1) return null;
  if (shape.precision === 'nvfp4')
    return "--fp4-param-gather is the distributed optimizer's (Megatron-FSDP has no NVFP4 gather): plan with zero 1";
  if (shape.zero === 2) return null;
  return shape.zero === 0
    ? '--fp8-param-gather needs the distributed optimizer (validate_args): plan with zero 1 or 2'
    : "FP8 parameter gathering is priced for ZeRO 1–2's once-a-step gather, not ZeRO-3's per-layer gathers: plan with zero 1 or 2";
}
