import type { CatalogGpu } from '../schema/cluster.ts';
import type { GpuGeneration } from '../schema/vocabulary.ts';
import { AMPERE_GPUS } from './gpus/ampere.ts';
import { BLACKWELL_GPUS } from './gpus/blackwell.ts';
import { CDNA3_GPUS } from './gpus/cdna3.ts';
import { HOPPER_GPUS } from './gpus/hopper.ts';
import { VOLTA_GPUS } from './gpus/volta.ts';

const BY_GENERATION: Readonly<Record<GpuGeneration, Readonly<Record<string, CatalogGpu>>>> = {
  volta: VOLTA_GPUS,
  ampere: AMPERE_GPUS,
  hopper: HOPPER_GPUS,
  blackwell: BLACKWELL_GPUS,
  cdna3: CDNA3_GPUS,
};

/**
 * The GPUs a request may name, one file per vendor generation under ./gpus/, each figure with its
 * source beside it, each spec naming its generation. Listed oldest first, as `GET /v1/gpus` and the
 * CLI show them.
 */
export const GPU_CATALOG: Readonly<Record<string, CatalogGpu>> = Object.fromEntries(
  (Object.entries(BY_GENERATION) as [GpuGeneration, Readonly<Record<string, CatalogGpu>>][]).flatMap(
    ([generation, gpus]) =>
      Object.entries(gpus).map(([id, gpu]) => [id, { ...gpu, spec: { ...gpu.spec, generation } }] as const),
  ),
);

export const GPU_IDS: readonly string[] = Object.keys(GPU_CATALOG);

/** Case-insensitive catalog look-up; undefined when the id is unknown. */
export function findGpu(id: string): CatalogGpu | undefined {
  const wanted = id.trim().toLowerCase();
  const key = GPU_IDS.find((k) => k.toLowerCase() === wanted);
  return key === undefined ? undefined : GPU_CATALOG[key];
}

/** The generation a catalog GPU belongs to (its spec names it); undefined when the id is unknown. */
export function generationOf(id: string): GpuGeneration | undefined {
  return findGpu(id)?.spec.generation;
}
