/**
 * The Python files a torchtitan v0.2.2 job imports through `[experimental] custom_import` when the
 * priced model is not a flavor torchtitan ships: a module that registers a train spec whose
 * flavor builds exactly that model. The GPT model and its parallelisation are fixed Python
 * (./python/), read as they are; only the registering module carries the plan's sizes.
 */
import { readFileSync } from 'node:fs';
import type { ExportFile } from '../../schema/index.ts';
import {
  GPT_MODULE,
  type GptArgs,
  LLAMA3_MODULE,
  type Llama3Args,
  PLANNED_FLAVOR,
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

function keywordArgs(args: Readonly<Record<string, number | string | boolean | null>>): string {
  return Object.entries(args)
    .map(([key, value]) => `        ${key}=${pythonLiteral(value)},`)
    .join('\n');
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
