import { z } from 'zod';
import { Exports } from '../../schema/index.ts';

/**
 * What the exporters produce: the plan schema's `Exports` plus, for each framework, whether its
 * settings reproduce the plan (`expressible`; when false the notes say why and Megatron's `args`
 * stay empty rather than describe a different plan), and for JAX the mesh sizes and stage map.
 * It only adds fields, so every value is also a valid `Exports`.
 */
export const JaxStageMap = z.object({
  stage: z.number().int(),
  /** First and last layer (inclusive) in the model's layer list, as `StageOut.layers`. */
  layers: z.tuple([z.number().int(), z.number().int()]),
  layerNames: z.tuple([z.string(), z.string()]),
  /** The stage's own mesh: `meshShape` with this stage's logical mesh. */
  meshShape: z.array(z.number().int()),
});
export type JaxStageMap = z.infer<typeof JaxStageMap>;

export const FrameworkExports = z.object({
  megatron: Exports.shape.megatron.extend({ expressible: z.boolean() }),
  deepspeed: Exports.shape.deepspeed.extend({ expressible: z.boolean() }),
  torchtitan: Exports.shape.torchtitan.extend({ expressible: z.boolean() }),
  jax: Exports.shape.jax.extend({
    expressible: z.boolean(),
    /** Device count along each of `meshAxes`. */
    meshShape: z.array(z.number().int()),
    /**
     * Pipeline stages are not a PartitionSpec: each runs on its own mesh over its layer range.
     * `partitionSpecs` entries are one per tensor dim: null (replicated), an axis name, or two
     * names joined by a comma ("data,model") for a dim split over both axes, i.e. P(("data", "model")).
     */
    stages: z.array(JaxStageMap),
  }),
});
export type FrameworkExports = z.infer<typeof FrameworkExports>;
