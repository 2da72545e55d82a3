/** Requests the torchtitan tests vary: a small Llama (GQA, SwiGLU) on DGX A100 nodes. */
import type { PlanRequest, PlanRequestInput, TransformerSpec } from '../../src/schema/index.ts';
import { request } from '../exports/fixtures.ts';

export const DGX_A100 = { gpu: 'A100-80GB', gpusPerNode: 8, intraNodeGBps: 300, interNodeGBps: 25 };

export const SMALL_LLAMA: TransformerSpec = {
  kind: 'transformer',
  layers: 8,
  hidden: 1024,
  heads: 16,
  kvHeads: 4,
  vocab: 32000,
  seqLen: 1024,
  activation: 'swiglu',
  activationFusion: true,
  gluLinearOffset: 0,
  attentionSinks: false,
  qkNorm: false,
  normFusion: true,
  attention: 'flash',
  mtpLayers: 0,
  mtpRepeatedLayer: false,
};

type ModelInput = Extract<PlanRequestInput['model'], { kind: 'transformer' }>;

/** SMALL_LLAMA changed by `model`, on `nodes` DGX A100 nodes, training `globalBatch` sequences in bf16. */
export function requestFor(model: Partial<ModelInput>, nodes: number, globalBatch: number): PlanRequest {
  return request({
    model: { ...SMALL_LLAMA, ...model },
    cluster: { ...DGX_A100, nodes },
    training: { globalBatch, precision: 'bf16' },
  });
}
