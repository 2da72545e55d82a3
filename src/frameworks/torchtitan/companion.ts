/**
 * The Python files a torchtitan v0.2.2 job imports through `[experimental] custom_import` when the
 * priced model is not a flavor torchtitan ships: a module that registers a train spec whose
 * flavor builds exactly that model. The GPT model and its parallelisation are fixed Python
 * (./python/), read as they are; only the registering module carries the plan's sizes.
 */
import { readFileSync } from 'node:fs';
import type { ExportFile } from '../../schema/index.ts';
import type { DeepSeekV3Args, MoeArgs, Qwen3Args } from './expert-models.ts';
import {
  DEEPSEEK_V3_MODULE,
  GPT_MODULE,
  type GptArgs,
  LLAMA3_MODULE,
  type Llama3Args,
  PLANNED_FLAVOR,
  QWEN3_MODULE,
  type TorchtitanModel,
} from './model.ts';

const GPT_MODEL_MODULE = 'meshplan_gpt_model';
const GPT_PARALLELIZE_MODULE = 'meshplan_gpt_parallelize';

const WHERE =
  'Put it in the directory torchrun starts in (`python -m torchtitan.train` puts that directory on sys.path) or on PYTHONPATH.';

/** A Python literal for a value of the args dataclasses: shortest round-trip floats, True/False, None. */
function pythonLiteral(value: number | string | boolean | null): string {
  if (value === null) return 'None';
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'string') return JSON.stringify(value);
  return String(value);
}

function keywordArgs(args: Readonly<Record<string, number | string | boolean | null>>, indent = 8): string {
  return Object.entries(args)
    .map(([key, value]) => `${' '.repeat(indent)}${key}=${pythonLiteral(value)},`)
    .join('\n');
}

/** A flavor's keyword arguments with its `MoEArgs` spelt out (none without experts: the default stays unused). */
function expertKeywordArgs(args: Qwen3Args | DeepSeekV3Args): string {
  const { moe_args, ...sizes } = args;
  const moe = (m: MoeArgs) => `        moe_args=MoEArgs(\n${keywordArgs({ ...m }, 12)}\n        ),`;
  return [keywordArgs(sizes), ...(moe_args === null ? [] : [moe(moe_args)])].join('\n');
}

/**
 * A module registering a flavor of one of torchtitan's own models under meshplan's spec name.
 * qwen3's train spec has no pipeline split at v0.2.2 (pipelining_fn None, which train.py refuses
 * under pp > 1) and an optimizer that never updates the experts' load-balancing bias; its model
 * passes through the modules a stage lacks, so llama3's split serves it, and deepseek_v3's
 * balancing optimizer keeps the routing as even as the plan prices it.
 */
function expertModule(
  spec: string,
  model: Extract<TorchtitanModel, { kind: 'qwen3' | 'deepseek_v3' }>,
): string {
  const argsClass = model.kind === 'qwen3' ? 'Qwen3ModelArgs' : 'DeepSeekV3ModelArgs';
  const qwen3 = model.kind === 'qwen3';
  const imports = qwen3
    ? [
        'from torchtitan.components.optimizer import build_optimizers_with_moe_load_balancing',
        'from torchtitan.distributed.pipeline_parallel import pipeline_llm',
      ]
    : [];
  const extra = qwen3
    ? ['pipelining_fn=pipeline_llm', 'build_optimizers_fn=build_optimizers_with_moe_load_balancing']
    : [];
  const fields = ['get_train_spec()', 'model_args=FLAVORS', ...extra].map((f) => `        ${f},`).join('\n');
  return `# Registers the train spec "${spec}" for torchtitan v0.2.2: its ${model.kind} model,
# parallelisation (tensor, context, expert and data parallelism), data, optimizer and pipeline
# split, with the flavor "${PLANNED_FLAVOR}" sized as meshplan priced it.
from dataclasses import replace

${[...imports, `from torchtitan.models.${model.kind} import ${argsClass}, get_train_spec`, 'from torchtitan.models.moe import MoEArgs', 'from torchtitan.protocols.train_spec import register_train_spec'].join('\n')}

FLAVORS = {
    "${PLANNED_FLAVOR}": ${argsClass}(
${expertKeywordArgs(model.args)}
    ),
}

register_train_spec(
    "${spec}",
    replace(
${fields}
    ),
)
`;
}

function llama3Module(args: Llama3Args): string {
  return `# Registers the train spec "${LLAMA3_MODULE}" for torchtitan v0.2.2: its llama3 model, data,
# optimizer and pipeline split, with the flavor "${PLANNED_FLAVOR}" sized as meshplan priced it.
from dataclasses import replace

from torchtitan.models.llama3 import TransformerModelArgs, get_train_spec
from torchtitan.protocols.train_spec import register_train_spec

FLAVORS = {
    "${PLANNED_FLAVOR}": TransformerModelArgs(
${keywordArgs({ ...args })}
    ),
}

register_train_spec("${LLAMA3_MODULE}", replace(get_train_spec(), model_args=FLAVORS))
`;
}

function gptModule(args: GptArgs): string {
  return `# Registers the train spec "${GPT_MODULE}" for torchtitan v0.2.2: meshplan's GPT model
# (${GPT_MODEL_MODULE}.py) and its parallelisation (${GPT_PARALLELIZE_MODULE}.py), with the flavor
# "${PLANNED_FLAVOR}" sized as meshplan priced it. llama3's tokenizer, data loader, optimizer, LR
# schedule, loss, validator and pipeline split serve any decoder-only model; llama3's checkpoint
# mapping to Hugging Face names does not, so there is none.
from dataclasses import replace

from torchtitan.models.llama3 import get_train_spec
from torchtitan.protocols.train_spec import register_train_spec

from ${GPT_MODEL_MODULE} import GPT, GPTModelArgs
from ${GPT_PARALLELIZE_MODULE} import parallelize_gpt

FLAVORS = {
    "${PLANNED_FLAVOR}": GPTModelArgs(
${keywordArgs({ ...args })}
    ),
}

register_train_spec(
    "${GPT_MODULE}",
    replace(
        get_train_spec(),
        model_cls=GPT,
        model_args=FLAVORS,
        parallelize_fn=parallelize_gpt,
        state_dict_adapter=None,
    ),
)
`;
}

const fixedSources = new Map<string, string>();

/** A Python file shipped in ./python/, read once. */
function fixedSource(module: string): string {
  let text = fixedSources.get(module);
  if (text === undefined) {
    text = readFileSync(new URL(`./python/${module}.py`, import.meta.url), 'utf8');
    fixedSources.set(module, text);
  }
  return text;
}

/** The files `custom_import` needs for this model; none for a flavor torchtitan ships. */
export function companionFiles(model: TorchtitanModel): ExportFile[] {
  switch (model.kind) {
    case 'shipped':
      return [];
    case 'llama3':
      return [
        {
          path: `${LLAMA3_MODULE}.py`,
          description: `Registers torchtitan's llama3 with the planned sizes (imported by [experimental] custom_import). ${WHERE}`,
          content: llama3Module(model.args),
        },
      ];
    case 'qwen3':
    case 'deepseek_v3': {
      const spec = model.kind === 'qwen3' ? QWEN3_MODULE : DEEPSEEK_V3_MODULE;
      return [
        {
          path: `${spec}.py`,
          description: `Registers torchtitan's ${model.kind} with the planned sizes (imported by [experimental] custom_import). ${WHERE}`,
          content: expertModule(spec, model),
        },
      ];
    }
    case 'none':
      return [];
    case 'gpt':
      return [
        {
          path: `${GPT_MODULE}.py`,
          description: `Registers meshplan's GPT model with the planned sizes (imported by [experimental] custom_import). ${WHERE}`,
          content: gptModule(model.args),
        },
        {
          path: `${GPT_MODEL_MODULE}.py`,
          description: `The GPT model as torch modules, imported by ${GPT_MODULE}.py. ${WHERE}`,
          content: fixedSource(GPT_MODEL_MODULE),
        },
        {
          path: `${GPT_PARALLELIZE_MODULE}.py`,
          description: `Tensor, sequence and data parallelism and activation checkpointing for the GPT model, imported by ${GPT_MODULE}.py. ${WHERE}`,
          content: fixedSource(GPT_PARALLELIZE_MODULE),
        },
      ];
  }
}
