/**
 * The planned stage cut as torchtitan v0.2.2 takes it: `module_fqns_per_model_part`, one list of
 * module names per model part (virtual stage), in pipeline order (distributed/pipeline_parallel.py
 * `pipeline_module_split`: part s runs on pp rank s mod pp, so rank i holds parts i, i + pp, …).
 */
import { virtualStageBlocks } from '../pipeline-split.ts';

/** Top-level modules of the model besides its blocks `layers.N`: on the first part and on the last. */
export interface EndModules {
  readonly first: readonly string[];
  readonly last: readonly string[];
}

/** torchtitan's llama3 (and meshplan's GPT without a position table). */
export const LLAMA_ENDS: EndModules = { first: ['tok_embeddings'], last: ['norm', 'output'] };

export type ModelParts =
  | { readonly ok: true; readonly parts: readonly (readonly string[])[] }
  | { readonly ok: false; readonly reason: string };

/**
 * Blocks of each model part in pipeline order: each pp rank's planned blocks cut into
 * `virtualStages` chunks as `virtualStageBlocks` cuts them (part k·pp + i is chunk k of rank i;
 * `module_fqns_per_model_part` takes any cut), or why they cannot be. Every part must hold
 * parameters: torchtitan builds one optimizer per part (components/optimizer.py
 * `OptimizersContainer`), and PyTorch refuses an optimizer with an empty parameter list.
 */
export function partBlocks(blocks: readonly number[], virtualStages: number): number[] | string {
  const parts = virtualStageBlocks(blocks, virtualStages);
  const empty = parts.findIndex((n, i) => n === 0 && i !== 0 && i !== parts.length - 1);
  if (empty >= 0) {
    return `model part ${empty} of ${parts.length} (blocks per part: ${parts.join(', ')}) holds no block, embedding or head, and torchtitan builds an optimizer per part, which needs parameters`;
  }
  return parts;
}

/** `module_fqns_per_model_part` reproducing the planned cut. */
export function modelParts(blocks: readonly number[], virtualStages: number, ends: EndModules): ModelParts {
  const counts = partBlocks(blocks, virtualStages);
  if (typeof counts === 'string') return { ok: false, reason: counts };
  let next = 0;
  const parts = counts.map((n, i) => {
    const names = Array.from({ length: n }, (_, k) => `layers.${next + k}`);
    next += n;
    return [...(i === 0 ? ends.first : []), ...names, ...(i === counts.length - 1 ? ends.last : [])];
  });
  return { ok: true, parts };
}
