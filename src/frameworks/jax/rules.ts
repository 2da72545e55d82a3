/** JAX runs any mesh and any PartitionSpecs: every plan meshplan makes (DESIGN.md §9). */
import { type Framework, RUNS } from '../framework.ts';

export const JAX_RELEASE = 'JAX (jax.sharding: Mesh, NamedSharding, PartitionSpec)';

export const jax: Framework = {
  name: 'jax',
  anyLayout: true,
  release: JAX_RELEASE,
  builds: () => RUNS,
  runs: () => RUNS,
  // XLA runs collectives asynchronously: gradient reductions overlap the backward pass.
  runtime: (_shape, requested) => ({
    gradientReduction: requested.overlapGradReduce === false ? 'after-backward' : 'overlapped',
    tensorParallelOverlap: requested.overlapTensorParallelComm ?? false,
  }),
  stageCuts: () => null,
};
