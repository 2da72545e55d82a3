import { parseCluster } from '../../src/cluster/index.ts';
import { logicalMesh } from '../../src/cluster/mesh.ts';
import { coarsen } from '../../src/graph/coarsen.ts';
import { planModel } from '../../src/model/planned.ts';
import { describeOps } from '../../src/planner/describe.ts';
import { LayerSolver, type LayoutChoice } from '../../src/planner/layer-solver.ts';
import {
  type OpLayoutOut,
  PlanRequest,
  type PlanRequestInput,
  type StageOut,
  type Summary,
} from '../../src/schema/index.ts';

type DimSpec = OpLayoutOut['inputSpecs'][number]['spec'][number];
type Split = [string | null, string | null];

/** An op layout as the planner reports it; `inputs` maps each tensor to its spec, e.g. "R S1". */
export function op(name: string, kind: string, split: Split, inputs: Record<string, string>): OpLayoutOut {
  return {
    op: name,
    kind,
    follows: null,
    strategy: { axis0: split[0], axis1: split[1], label: '' },
    inputSpecs: Object.entries(inputs).map(([tensor, spec]) => ({
      tensor,
      spec: spec.split(' ') as DimSpec[],
      partialAxes: [],
    })),
    outputSpec: { tensor: `${name}.out`, spec: [], partialAxes: [] },
    collectives: [],
    computeSec: { forward: 0, backward: 0 },
    commSec: 0,
    memoryBytes: { paramState: 0, activations: 0 },
  };
}

/**
 * Megatron-LM's layout on a [1, tp] mesh, written out by hand from Shoeybi et al. 2019 (column-
 * parallel q/k/v and fc1, row-parallel out_proj and fc2, vocab-parallel embedding, LM head and
 * loss) and Korthikanti et al. 2022 (sequence parallelism splits norms along s). Only the ops
 * with parameters and one follower: a plan may list a subset of a layer's ops.
 */
export function megatronLayout(lastBlock: number, sp: boolean) {
  const seq = sp ? 's' : null;
  const stream = sp ? 'R S1 R' : 'R R R';
  return {
    embedding: [
      op('embedding.lookup', 'embedding', [null, 'v'], {
        'embedding.tokens': 'R R',
        'embedding.table': 'S1 R',
      }),
      op('embedding.dropout', 'dropout', [null, seq], { 'embedding.embedded': stream }),
    ],
    block: [
      op('block0.ln1', 'norm', [null, seq], { 'embedding.x': stream, 'block0.ln1_scale': 'R' }),
      op('block0.q_proj', 'matmul', [null, 'n'], { 'block0.x_norm1': 'R R R', 'block0.wq': 'R S1 R' }),
      op('block0.k_proj', 'matmul', [null, 'n'], { 'block0.x_norm1': 'R R R', 'block0.wk': 'R S1 R' }),
      op('block0.v_proj', 'matmul', [null, 'n'], { 'block0.x_norm1': 'R R R', 'block0.wv': 'R S1 R' }),
      op('block0.out_proj', 'matmul', [null, 'n'], { 'block0.context': 'R R S1 R', 'block0.wo': 'S1 R R' }),
      op('block0.ln2', 'norm', [null, seq], { 'block0.resid1': stream, 'block0.ln2_scale': 'R' }),
      op('block0.fc1', 'matmul', [null, 'f'], { 'block0.x_norm2': 'R R R', 'block0.w_fc1': 'R S1' }),
      op('block0.gelu', 'elementwise', [null, 'f'], { 'block0.fc1_biased': 'R R S1' }),
      op('block0.fc2', 'matmul', [null, 'f'], { 'block0.gelu_out': 'R R S1', 'block0.w_fc2': 'S1 R' }),
    ],
    head: [
      op('head.final_norm', 'norm', [null, seq], { [`block${lastBlock}.y`]: stream, 'head.norm_scale': 'R' }),
      op('head.lm_head', 'matmul', [null, 'v'], { 'head.x_norm': 'R R R', 'head.table': 'S1 R' }),
      op('head.cross_entropy', 'loss', [null, 'v'], { 'head.logits': 'R R S1', 'head.labels': 'R R' }),
    ],
  };
}

type Layout = ReturnType<typeof megatronLayout>;

const layerName = (i: number, blocks: number) =>
  i === 0 ? 'embedding' : i === blocks + 1 ? 'head' : `block${i - 1}`;

function stageOut(
  layers: [number, number],
  blocks: number,
  mesh: [number, number],
  layerPlans: StageOut['layerPlans'],
): StageOut {
  const zero = {
    parametersBytes: 0,
    gradientsBytes: 0,
    optimizerBytes: 0,
    activationsBytes: 0,
    totalBytes: 0,
  };
  return {
    layers,
    layerNames: [layerName(layers[0], blocks), layerName(layers[1], blocks)],
    subMesh: { nodes: 1, devicesPerNode: mesh[0] * mesh[1] },
    logicalMesh: mesh,
    latencySec: 1,
    memoryBytes: 0,
    memory: { ...zero, capacityBytes: 80e9 },
    inFlightMicrobatches: 1,
    layerPlans,
  };
}

/** Stages holding these block counts, each layer kind planned as `layout` says (as `assemble` reports it). */
export function stagesOf(
  blocksPerStage: readonly number[],
  layout: Layout,
  mesh: [number, number],
): StageOut[] {
  const blocks = blocksPerStage.reduce((a, b) => a + b, 0);
  let offset = 0;
  return blocksPerStage.map((n, i) => {
    const last = i === blocksPerStage.length - 1;
    const plans: StageOut['layerPlans'] = [];
    if (i === 0) plans.push({ layer: 'embedding', count: 1, ops: layout.embedding });
    if (n > 0) plans.push({ layer: `block${offset}`, count: n, ops: layout.block });
    if (last) plans.push({ layer: 'head', count: 1, ops: layout.head });
    const range: [number, number] = [i === 0 ? 0 : offset + 1, last ? blocks + 1 : offset + n];
    offset += n;
    return stageOut(range, blocks, mesh, plans);
  });
}

export function summaryOf(fields: Partial<Summary>): Summary {
  return {
    dp: 1,
    tp: 1,
    pp: 1,
    cp: 1,
    ep: 1,
    etp: fields.tp ?? 1,
    gpus: 1,
    microBatch: 1,
    microbatches: 1,
    virtualStages: 1,
    recompute: 'none',
    zero: 0,
    sequenceParallel: false,
    schedule: '1f1b',
    stepTimeSec: 1,
    tokensPerSec: 1,
    tflopsPerDevice: 1,
    hardwareTflopsPerDevice: 1,
    mfu: 0.5,
    peakMemoryBytes: 1,
    ...fields,
  };
}

export const request = (input: PlanRequestInput): PlanRequest => PlanRequest.parse(input);

/** A two-matmul MLP as a general operator graph, over `batch` sequences of 512 tokens. */
export function mlpGraph(batch: number): PlanRequestInput['model'] {
  return {
    kind: 'graph',
    graph: {
      name: 'mlp',
      tensors: [
        { name: 'x', shape: [batch, 512, 1024] },
        { name: 'w1', shape: [1024, 4096], param: true },
        { name: 'hidden', shape: [batch, 512, 4096] },
        { name: 'w2', shape: [4096, 1024], param: true },
        { name: 'y', shape: [batch, 512, 1024] },
      ],
      ops: [
        { name: 'fc1', einsum: 'bsh,hf->bsf', inputs: ['x', 'w1'], output: 'hidden', kind: 'matmul' },
        { name: 'fc2', einsum: 'bsf,fh->bsh', inputs: ['hidden', 'w2'], output: 'y', kind: 'matmul' },
      ],
    },
  };
}

/**
 * Stages whose layouts come from the planner's own pipeline: each layer's layout chosen by
 * `LayerSolver` (`choice`), priced and described by `describeOps` as `assemble` does.
 */
export async function plannedStages(
  req: PlanRequest,
  microBatch: number,
  layersPerStage: readonly [number, number][],
  mesh: [number, number],
  choice: LayoutChoice,
): Promise<StageOut[]> {
  const model = planModel(req.model, { microBatch, precision: req.training.precision });
  const cluster = parseCluster(req.cluster);
  const solver = new LayerSolver({ cluster, deadlineMs: Date.now() + 60_000 });
  const logical = logicalMesh(cluster, mesh);
  const out: StageOut[] = [];
  for (const [first, last] of layersPerStage) {
    const plans = new Map<string, StageOut['layerPlans'][number]>();
    for (let l = first; l <= last; l++) {
      const layer = model.layers[l]!;
      const known = plans.get(layer.signature);
      if (known !== undefined) {
        known.count++;
        continue;
      }
      const priced = await solver.price(layer, logical, choice, 'none');
      if (priced === null) throw new Error(`no ${choice} layout for ${layer.name}`);
      const ops = describeOps(layer.graph, priced, coarsen(layer.graph), 16);
      plans.set(layer.signature, { layer: layer.name, count: 1, ops });
    }
    const stage = stageOut([first, last], model.layers.length - 2, mesh, [...plans.values()]);
    out.push({ ...stage, layerNames: [model.layers[first]!.name, model.layers[last]!.name] });
  }
  return out;
}
