// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the strings are bash, where ${…} expands parameters
/**
 * The launch script of a Megatron-LM export: bash that starts its entry script (`pretrain_gpt.py`,
 * or `pretrain_hybrid.py` for a hybrid model) with torchrun on every node, the plan's arguments
 * fixed, the cluster's coordinates (NNODES, NODE_RANK, MASTER_ADDR) from the environment, and the
 * data and schedule of the run left to the user with defaults that make it a synthetic benchmark of
 * the plan.
 */
import { MEGATRON_RELEASE } from './rules.ts';

export interface Launch {
  /** The training script in the Megatron-LM checkout that torchrun starts. */
  readonly entry: 'pretrain_gpt.py' | 'pretrain_hybrid.py';
  /** The entry script's arguments of the plan, as words. */
  readonly args: readonly string[];
  readonly nodes: number;
  readonly gpusPerNode: number;
  /** Megatron-FSDP (ZeRO-2/3) refuses CUDA_DEVICE_MAX_CONNECTIONS=1, which other runs need. */
  readonly fsdp: boolean;
  /** Rows of the vocabulary: the synthetic tokenizer's size. */
  readonly vocab: number;
  /** What the plan is, one line. */
  readonly title: string;
}

/** Flags, numbers and layout strings, written so that bash reads each back as one word. */
export function shellWord(word: string): string {
  return /^[\w./:=+,-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

function connectionsSetting(fsdp: boolean): string[] {
  return fsdp
    ? [
        '# Megatron-FSDP refuses CUDA_DEVICE_MAX_CONNECTIONS=1 (validate_args).',
        'unset CUDA_DEVICE_MAX_CONNECTIONS',
      ]
    : [
        '# Tensor and context parallelism need CUDA_DEVICE_MAX_CONNECTIONS=1 before Blackwell (validate_args).',
        'export CUDA_DEVICE_MAX_CONNECTIONS=1',
      ];
}

/** The coordinates of this node: given by the environment; a single node needs none. */
function coordinates(nodes: number): string[] {
  const multi = nodes > 1;
  return [
    `NNODES=\${NNODES:-${nodes}}`,
    multi
      ? `NODE_RANK=\${NODE_RANK:?set NODE_RANK to the index of this node, 0 to ${nodes - 1}}`
      : 'NODE_RANK=${NODE_RANK:-0}',
    multi
      ? 'MASTER_ADDR=${MASTER_ADDR:?set MASTER_ADDR to the address of node 0}'
      : 'MASTER_ADDR=${MASTER_ADDR:-localhost}',
    'MASTER_PORT=${MASTER_PORT:-6000}',
    'MEGATRON_LM=${MEGATRON_LM:-.}',
  ];
}

export function launchScript(launch: Launch): string {
  const { nodes, gpusPerNode } = launch;
  const lines = [
    '#!/usr/bin/env bash',
    `# ${launch.title.replaceAll('\n', ' ')}`,
    `# ${MEGATRON_RELEASE}, ${launch.entry}, on ${nodes} node(s) × ${gpusPerNode} GPUs. On every node run`,
    '#   NNODES=… NODE_RANK=… MASTER_ADDR=… MEGATRON_LM=<checkout at that tag> bash megatron-launch.sh',
    '# DATA_ARGS and TRAIN_ARGS default to a synthetic benchmark (mock data, NullTokenizer); set them',
    '# for a real run (a tokenizer of at most --padded-vocab-size tokens).',
    'set -euo pipefail',
    '',
    ...coordinates(nodes),
    `GPUS_PER_NODE=${gpusPerNode}`,
    `if [ "$NNODES" -ne ${nodes} ]; then`,
    `  echo "this plan runs on ${nodes} node(s) of ${gpusPerNode} GPUs, not NNODES=$NNODES" >&2`,
    '  exit 1',
    'fi',
    '',
    ...connectionsSetting(launch.fsdp),
    '',
    `DATA_ARGS=\${DATA_ARGS:-"--mock-data --tokenizer-type NullTokenizer --vocab-size ${launch.vocab}"}`,
    'TRAIN_ARGS=${TRAIN_ARGS:-"--train-iters 100 --eval-iters 1 --lr 1.0e-4 --log-interval 1 --log-throughput"}',
    '',
    'PLAN_ARGS=(',
    ...argumentLines(launch.args),
    ')',
    '',
    '# shellcheck disable=SC2086 # DATA_ARGS and TRAIN_ARGS are lists of words',
    'exec torchrun --nnodes "$NNODES" --node_rank "$NODE_RANK" --nproc_per_node "$GPUS_PER_NODE" \\',
    '  --master_addr "$MASTER_ADDR" --master_port "$MASTER_PORT" \\',
    `  "$MEGATRON_LM/${launch.entry}" "\${PLAN_ARGS[@]}" $DATA_ARGS $TRAIN_ARGS`,
    '',
  ];
  return lines.join('\n');
}

/** One flag per line, with its value. */
function argumentLines(args: readonly string[]): string[] {
  const lines: string[] = [];
  for (const word of args) {
    if (word.startsWith('--') || lines.length === 0) lines.push(`  ${shellWord(word)}`);
    else lines[lines.length - 1] += ` ${shellWord(word)}`;
  }
  return lines;
}
