export type { BuildOptions } from './dims.ts';
export { type PlannedLayer, type PlannedModel, planModel } from './planned.ts';
export { graphSignature } from './signature.ts';
export { buildTransformer, type TransformerModel } from './transformer.ts';
export type { ModelLayer } from './transformer-layers.ts';
export { type LayerRange, wholeGraph } from './whole-graph.ts';
