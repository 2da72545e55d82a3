/**
 * The configuration an `estimate` request fixes, checked: every degree given, degrees that multiply
 * to the cluster, a batch that divides, and a stage split (even, or `parallel.stageLayers`) that
 * covers the model's blocks.
 */
import type { Cluster } from '../cluster/cluster.ts';
import { type InputIssue, InvalidInputError } from '../schema/errors.ts';
import type { PlanRequest } from '../schema/index.ts';

export interface FixedConfig {
  readonly tp: number;
  readonly pp: number;
  readonly dp: number;
  readonly cp: number;
  /** Expert parallelism as the request gives it, over tp · dp · cp ranks when the experts fold over tp. */
  readonly ep: number;
  readonly microBatch: number;
  /** Transformer blocks per stage, first to last. */
  readonly stageBlocks: readonly number[];
}

function required(request: PlanRequest): { tp: number; pp: number; dp: number; microBatch: number } {
  const p = request.parallel;
  const issues: InputIssue[] = [];
  for (const field of ['tp', 'pp', 'dp'] as const) {
    if (p?.[field] === undefined)
      issues.push({ path: `parallel.${field}`, message: 'estimate needs every degree' });
  }
  const microBatch = p?.microBatch ?? request.training.microBatch;
  if (microBatch === undefined)
    issues.push({ path: 'parallel.microBatch', message: 'estimate needs the microbatch size' });
  if (issues.length > 0) throw new InvalidInputError(issues, 'request');
  return { tp: p!.tp!, pp: p!.pp!, dp: p!.dp!, microBatch: microBatch! };
}

function stageBlocksOf(request: PlanRequest, blocks: number, pp: number, issues: InputIssue[]): number[] {
  const given = request.parallel?.stageLayers;
  const v = request.parallel?.virtualStages ?? 1;
  if (given !== undefined) {
    const sum = given.reduce((s, n) => s + n, 0);
    if (given.length !== pp)
      issues.push({ path: 'parallel.stageLayers', message: `${given.length} stages, but pp = ${pp}` });
    if (sum !== blocks)
      issues.push({
        path: 'parallel.stageLayers',
        message: `the stages hold ${sum} blocks; the model has ${blocks}`,
      });
    // The embedding and the head make a stage of the first and the last; one between needs a block.
    const empty = given.findIndex((n, i) => n === 0 && i > 0 && i < given.length - 1);
    if (empty >= 0)
      issues.push({
        path: `parallel.stageLayers[${empty}]`,
        message: 'a stage between the first and the last needs a block',
      });
    // A stage's blocks need not divide into v chunks: the exports cut them as evenly as they go.
    return [...given];
  }
  if (blocks % (pp * v) !== 0) {
    const split = embeddingAndLossSplit(blocks, pp, v);
    issues.push({
      path: 'parallel.pp',
      message: `${blocks} layers do not split evenly into pp·virtualStages = ${pp * v} chunks (give parallel.stageLayers for an uneven split${split === null ? '' : `, e.g. [${split.join(', ')}], Megatron's --account-for-embedding/loss-in-pipeline-split`})`,
    });
  }
  return new Array<number>(pp).fill(blocks / pp);
}

/**
 * Megatron-LM's split with the embedding and the loss counted as a block each
 * (--account-for-embedding-in-pipeline-split --account-for-loss-in-pipeline-split, as NVIDIA's
 * Llama 3.1 405B and Qwen3 recipes set): blocks + 2 in pp·v equal chunks, the first and last stage one
 * block short. Null where blocks + 2 do not divide either.
 */
export function embeddingAndLossSplit(blocks: number, pp: number, virtualStages: number): number[] | null {
  const chunks = pp * virtualStages;
  if (pp < 2 || (blocks + 2) % chunks !== 0) return null;
  const perStage = ((blocks + 2) / chunks) * virtualStages;
  return Array.from({ length: pp }, (_, i) => perStage - (i === 0 || i === pp - 1 ? 1 : 0));
}

/**
 * Whether a request's experts fold over its tp ranks (etp 1 under tp > 1, Megatron-Core's MoE
 * parallel folding), and the part of its ep carved from dp · cp (ep / tp when they fold and it
 * divides, else ep: `fixedConfig` reports one that does not).
 */
export function expertFolding(parallel: PlanRequest['parallel']): {
  expertsOverTp: boolean;
  carvedEp: number;
} {
  const tp = parallel?.tp ?? 1;
  const ep = parallel?.ep ?? 1;
  const expertsOverTp = (parallel?.etp ?? tp) === 1 && tp > 1 && ep > 1;
  return { expertsOverTp, carvedEp: expertsOverTp && ep % tp === 0 ? ep / tp : ep };
}

export function fixedConfig(request: PlanRequest, cluster: Cluster, blocks: number): FixedConfig {
  const { tp, pp, dp, microBatch } = required(request);
  const cp = request.parallel?.cp ?? 1;
  const ep = request.parallel?.ep ?? 1;
  const issues: InputIssue[] = [];
  if (tp * pp * dp * cp !== cluster.devices) {
    issues.push({
      path: 'parallel',
      message: `tp·cp·pp·dp = ${tp * cp * pp * dp} but the cluster has ${cluster.devices} GPUs`,
    });
  }
  // The schema holds etp to tp or 1 (request.ts).
  const { expertsOverTp, carvedEp } = expertFolding(request.parallel);
  // Megatron carves expert parallelism from the data- and context-parallel ranks, and with expert
  // TP 1 (MoE parallel folding) from the tensor-parallel ranks too: ep · etp tiles tp · dp · cp.
  if (expertsOverTp && ep % tp !== 0) {
    issues.push({
      path: 'parallel.ep',
      message: `with etp = 1 the experts fold over the tp ranks: ep = ${ep} must be a multiple of tp = ${tp}`,
    });
  } else if ((dp * cp) % carvedEp !== 0) {
    issues.push({
      path: 'parallel.ep',
      message: expertsOverTp
        ? `ep / tp = ${carvedEp} does not divide dp·cp = ${dp * cp}`
        : `ep = ${ep} does not divide dp·cp = ${dp * cp}`,
    });
  }
  if (request.training.globalBatch % (dp * microBatch) !== 0) {
    issues.push({
      path: 'training.globalBatch',
      message: `${request.training.globalBatch} is not a multiple of dp·microBatch = ${dp * microBatch}`,
    });
  }
  const v = request.parallel?.virtualStages ?? 1;
  const microbatches = request.training.globalBatch / (dp * microBatch);
  if (v > 1 && Number.isInteger(microbatches) && microbatches % pp !== 0) {
    issues.push({
      path: 'parallel.virtualStages',
      message: `an interleaved schedule needs the ${microbatches} microbatches per step to be a multiple of pp = ${pp}`,
    });
  }
  const stageBlocks = stageBlocksOf(request, blocks, pp, issues);
  if (issues.length > 0) throw new InvalidInputError(issues, 'request');
  return { tp, pp, dp, cp, ep, microBatch, stageBlocks };
}
