/**
 * A record's model architecture beyond the shape both reference formats spell out: DeepSeek-style
 * latent attention, leading dense blocks, multi-token prediction and shared-expert sizes, read from
 * its fields (as JSON) or prose, so a record nobody pinned facts for is priced as the model it was.
 */
import type { MlaSpec } from '../src/schema/index.ts';

const SMALL_NUMBERS: Readonly<Record<string, number>> = {
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
};

/** The first of `patterns` that matches `text`, its first group read as a number ("three" too). */
function firstNumber(text: string, patterns: readonly RegExp[]): number | null {
  for (const pattern of patterns) {
    const found = pattern.exec(text)?.[1];
    if (found === undefined) continue;
    const value = SMALL_NUMBERS[found.toLowerCase()] ?? Number(found);
    if (Number.isFinite(value)) return value;
  }
  return null;
}

/** Between a key and its value, as records write them: `kv_lora_rank 512`, `"kv_lora_rank": 512`, `--kv-lora-rank=512`. */
const IS = String.raw`["'\s:=]*`;
const SEP = String.raw`[_\s-]?`;
const key = (...words: string[]) => words.join(SEP);

/** What DeepSeek-V2 and V3 set, where a record names multi-head latent attention but not its sizes. */
const DEEPSEEK_MLA: MlaSpec = {
  qLoraRank: 1536,
  kvLoraRank: 512,
  qkNopeHeadDim: 128,
  qkRopeHeadDim: 64,
  vHeadDim: 128,
};

/**
 * The DeepSeek-style architecture a record describes in its model fields or prose (`text`: the
 * model as JSON with its notes), in Hugging Face's or Megatron-LM's names: multi-head latent attention
 * (`kv_lora_rank`, `q_lora_rank`, `qk_nope_head_dim` / `--qk-head-dim`, `qk_rope_head_dim` /
 * `--qk-pos-emb-head-dim`, `v_head_dim`; named but unsized, DeepSeek-V2/V3's), leading dense blocks
 * (`first_k_dense_replace`, `--moe-layer-freq ([0]*3+[1]*58)`, "first 3 layers dense"), multi-token
 * prediction (`num_nextn_predict_layers`, `mtp_num_layers`, "1 MTP layer") and a shared expert's
 * own FFN size (`shared_expert_intermediate_size`, `moe_shared_expert_intermediate_size`). What a
 * record does not say is left out: a model without them.
 */
export function deepseekArchitectureOf(text: string): {
  mla?: MlaSpec;
  denseLayers?: number;
  mtpLayers?: number;
  sharedFfnHidden?: number;
} {
  const kvLoraRank = firstNumber(text, [new RegExp(`${key('kv', 'lora', 'rank')}${IS}(\\d+)`, 'i')]);
  const named = /\bMLA\b|latent[-_ ]attention/i.test(text);
  const out: ReturnType<typeof deepseekArchitectureOf> = {};
  if (kvLoraRank !== null || named) {
    const qLora = new RegExp(`(?<![a-z])${key('q', 'lora', 'rank')}${IS}(\\d+|null|none)`, 'i').exec(
      text,
    )?.[1];
    const size = (patterns: RegExp[], fallback: number) => firstNumber(text, patterns) ?? fallback;
    out.mla = {
      qLoraRank:
        qLora === undefined ? DEEPSEEK_MLA.qLoraRank : /^(null|none)$/i.test(qLora) ? null : Number(qLora),
      kvLoraRank: kvLoraRank ?? DEEPSEEK_MLA.kvLoraRank,
      qkNopeHeadDim: size(
        [
          new RegExp(`${key('qk', 'nope', 'head', 'dim')}${IS}(\\d+)`, 'i'),
          new RegExp(`(?<![a-z_-])${key('qk', 'head', 'dim')}${IS}(\\d+)`, 'i'),
        ],
        DEEPSEEK_MLA.qkNopeHeadDim,
      ),
      qkRopeHeadDim: size(
        [
          new RegExp(`${key('qk', 'rope', 'head', 'dim')}${IS}(\\d+)`, 'i'),
          new RegExp(`${key('qk', 'pos', 'emb', 'head', 'dim')}${IS}(\\d+)`, 'i'),
        ],
        DEEPSEEK_MLA.qkRopeHeadDim,
      ),
      vHeadDim: size(
        [new RegExp(`(?<![a-z])${key('v', 'head', 'dim')}${IS}(\\d+)`, 'i')],
        DEEPSEEK_MLA.vHeadDim,
      ),
    };
  }
  const denseLayers = firstNumber(text, [
    new RegExp(`${key('first', 'k', 'dense', 'replace')}${IS}(\\d+)`, 'i'),
    /moe[_\s-]?layer[_\s-]?freq[^\]]*\[0\]\s*\*\s*(\d+)/i,
    /first\s+(\d+|one|two|three|four|five|six)\s+(?:\w+\s+)?(?:layers|blocks)\s+(?:are\s+|use\s+|with\s+)?(?:a\s+)?dense/i,
    /(\d+|one|two|three|four|five|six)\s+(?:leading\s+)?dense\s+(?:layers|blocks)/i,
  ]);
  if (denseLayers !== null) out.denseLayers = denseLayers;
  const mtpLayers = firstNumber(text, [
    new RegExp(`${key('num', 'nextn', 'predict', 'layers')}${IS}(\\d+)`, 'i'),
    new RegExp(`${key('mtp', 'num', 'layers')}${IS}(\\d+)`, 'i'),
    new RegExp(`${key('mtp', 'layers')}${IS}(\\d+)`, 'i'),
    /(\d+|one|two|three)\s+MTP\s+(?:layers?|modules?|depth)/i,
  ]);
  if (mtpLayers !== null) out.mtpLayers = mtpLayers;
  const sharedFfnHidden = firstNumber(text, [
    new RegExp(`${key('shared', 'expert', 'intermediate', 'size')}${IS}(\\d+)`, 'i'),
    new RegExp(`${key('shared', 'ffn', 'hidden')}${IS}(\\d+)`, 'i'),
    new RegExp(`${key('shared', 'ffn')}${IS}(\\d+)`, 'i'),
  ]);
  if (sharedFfnHidden !== null) out.sharedFfnHidden = sharedFfnHidden;
  return out;
}

/** A gpt-oss model named in a record. */
const GPT_OSS = /\bgpt[-_ ]?oss\b/i;

/**
 * Whether a record's model has biases on its linear layers, where it says or its family settles it:
 * stated as Megatron-LM or Hugging Face set it (`add_bias_linear`, `--disable-bias-linear`,
 * `attention_bias`), or a gpt-oss model, whose published config has biases on the attention
 * projections (attention_bias) and on every expert (gate_up_proj_bias, down_proj_bias), as
 * Megatron-Bridge's gpt-oss bridge builds it (add_bias_linear = True, gpt_oss_bridge.py at 21d102f5ec).
 * Unsaid, the request's default stands (biases with GELU, none with a gated MLP).
 */
export function linearBiasesOf(text: string): boolean | undefined {
  if (/disable[-_ ]bias[-_ ]linear/i.test(text)) return false;
  const stated = new RegExp(
    `(?:${key('add', 'bias', 'linear')}|${key('attention', 'bias')})${IS}(true|false)`,
    'i',
  ).exec(text);
  if (stated !== null) return stated[1]!.toLowerCase() === 'true';
  if (GPT_OSS.test(text)) return true;
  return undefined;
}

/** gpt-oss's MLP and attention as Megatron-LM builds them (TransformerSpec fields), where a record's model is one. */
export interface GptOssTraits {
  readonly activationClamp: number;
  readonly gluLinearOffset: number;
  readonly attentionSinks: boolean;
}

/**
 * A gpt-oss model's clamp, offset and sinks, as Megatron-Bridge's gpt-oss bridge sets them
 * (gpt_oss_bridge.py at 21d102f5ec: activation_func_clamp_value 7.0 — the published config's
 * swiglu_limit —, glu_linear_offset 1.0, softmax_type "learnable" for the sinks). A clamp the record
 * states ("clamp 7.0") wins; undefined for other models.
 */
export function gptOssTraitsOf(text: string): GptOssTraits | undefined {
  if (!GPT_OSS.test(text)) return undefined;
  const stated = /clamp(?:ed)?(?:\s+(?:value|limit))?\s*(?:=|:|of)?\s*(\d+(?:\.\d+)?)/i.exec(text);
  return {
    activationClamp: stated === null ? 7 : Number(stated[1]),
    gluLinearOffset: 1,
    attentionSinks: true,
  };
}

/**
 * Whether a record's model normalises its queries and keys per head (TransformerSpec.qkNorm): stated
 * ("QK-norm", Megatron-LM's qk_layernorm), or a Qwen3 model, which the Qwen3 technical report
 * (arXiv 2505.09388, §2) gives QK-Norm in every attention layer.
 */
export function qkNormOf(text: string): boolean {
  return /\bqk[-_ ]?(?:layer)?norm/i.test(text) || /\bqwen[-_ ]?3(?![.\d])/i.test(text);
}
