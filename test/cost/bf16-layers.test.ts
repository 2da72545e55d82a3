import { describe, expect, it } from 'vitest';
import { buildTransformer } from '../../src/model/transformer.ts';
import { estimate } from '../../src/planner/estimate.ts';
import { PlanRequest, type PlanRequestInput, type Precision } from '../../src/schema/index.ts';
import { TransformerSpec } from '../../src/schema/model.ts';
import { LLAMA3_8B } from '../support/models.ts';

/*
 * training.bf16Layers: Megatron-Core's first and last layers kept out of the quantized format
 * (get_fp8_context / get_fp4_context hand them a null context, core_v0.19.0). Oracles: the op graph
 * read op by op; a model kept wholly in bf16 priced as the bf16 precision prices it; for identical
 * blocks, the step time linear in the number kept. Megatron's own check: megatron-rules.test.ts.
 */

const SMALL = { ...LLAMA3_8B, layers: 8, seqLen: 4096, vocab: 32000 };

function request(precision: Precision, bf16Layers?: { first: number; last: number }): PlanRequestInput {
  return {
    model: SMALL,
    cluster: { gpu: 'B200-180GB', nodes: 1, gpusPerNode: 8 },
    training: { globalBatch: 16, precision, ...(bf16Layers === undefined ? {} : { bf16Layers }) },
    parallel: { tp: 1, pp: 1, dp: 8, microBatch: 1, zero: 1 },
  };
}

async function stepSec(input: PlanRequestInput): Promise<number> {
  const plan = await estimate(PlanRequest.parse(input));
  expect(plan.status).toBe('optimal');
  return plan.summary!.stepTimeSec;
}

describe('blocks kept in bf16 under a quantized precision', () => {
  it('build their linear layers without a quantized format, and every other block with it', () => {
    const model = buildTransformer(TransformerSpec.parse(SMALL), {
      microBatch: 1,
      precision: 'nvfp4',
      bf16Layers: { first: 1, last: 2 },
    });
    const formats = model.layers
      .filter((l) => l.kind === 'block')
      .map((l) => {
        const matmuls = l.graph.ops.filter((op) => op.kind === 'matmul');
        expect(matmuls.length).toBeGreaterThan(0);
        return [...new Set(matmuls.map((op) => op.computeDtype ?? 'bf16'))].join();
      });
    expect(formats).toEqual(['bf16', 'nvfp4', 'nvfp4', 'nvfp4', 'nvfp4', 'nvfp4', 'bf16', 'bf16']);
  });

  it('all of them kept: priced as bf16 training prices the model', async () => {
    for (const precision of ['fp8', 'mxfp8', 'nvfp4'] as const) {
      const kept = await stepSec(request(precision, { first: 3, last: 5 }));
      expect(kept).toBeCloseTo(await stepSec(request('bf16')), 12);
    }
  });

  it('identical blocks: the step time is linear in the number kept', async () => {
    const none = await stepSec(request('nvfp4'));
    const all = await stepSec(request('nvfp4', { first: 8, last: 0 }));
    expect(all).toBeGreaterThan(none);
    for (const [first, last] of [
      [0, 3],
      [2, 1],
      [1, 4],
    ] as const) {
      const kept = await stepSec(request('nvfp4', { first, last }));
      expect(kept).toBeCloseTo(none + ((first + last) / 8) * (all - none), 9);
    }
  });

  it('are refused without a quantized precision, past the model’s blocks, or for a graph', () => {
    const issue = (input: PlanRequestInput) => {
      const parsed = PlanRequest.safeParse(input);
      expect(parsed.success).toBe(false);
      return parsed.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    };
    expect(issue(request('bf16', { first: 1, last: 0 }))).toEqual([
      expect.stringMatching(/^training\.bf16Layers: .*needs training\.precision "fp8", "mxfp8" or "nvfp4"/),
    ]);
    expect(issue(request('fp8', { first: 5, last: 4 }))).toEqual([
      'training.bf16Layers: keeps 5 + 4 blocks in bf16; the model has 8',
    ]);
    const graph = {
      ...request('fp8', { first: 1, last: 0 }),
      model: { kind: 'graph', graph: { tensors: [], ops: [] } },
    } as PlanRequestInput;
    expect(issue(graph)).toContainEqual(
      expect.stringMatching(/^training\.bf16Layers: names blocks of a transformer/),
    );
  });
});
