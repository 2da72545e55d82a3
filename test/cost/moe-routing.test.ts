import { describe, expect, it } from 'vitest';
import { estimate } from '../../src/planner/estimate.ts';
import { type Plan, PlanRequest } from '../../src/schema/index.ts';
import { LLAMA3_8B } from '../support/models.ts';

/*
 * Oracle: Megatron-Core's all-to-all token dispatcher under sequence parallelism with expert tensor
 * parallelism equal to tp (token_dispatcher.py, MoEAlltoAllTokenDispatcher, core_v0.10.0 and later):
 * each tensor-parallel rank routes its own s/tp tokens through the expert-parallel all-to-all, then
 * all-gathers the received tokens over the tensor-parallel group for its experts' column-parallel
 * projections; on the way back it reduce-scatters the row-parallel outputs and sends them home.
 * So the all-to-all moves 1/tp of a rank's tokens, and nothing is all-reduced.
 */
/** A small Mixtral-like MoE: Llama 3 8B's attention, eight experts, top-2. */
const MIXTRAL_LIKE = {
  ...LLAMA3_8B,
  layers: 2,
  vocab: 32000,
  seqLen: 4096,
  moe: { experts: 8, topK: 2, dropless: true },
} as const;

async function priced(tp: number, dp: number): Promise<Plan> {
  const plan = await estimate(
    PlanRequest.parse({
      model: MIXTRAL_LIKE,
      cluster: { gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 },
      // Two microbatches per step at every dp, so per-step times compare per microbatch.
      training: { globalBatch: 2 * dp, precision: 'bf16', optimizer: 'adam' },
      parallel: {
        tp,
        pp: 1,
        dp,
        ep: 2,
        ...(tp > 1 ? { etp: tp, sequenceParallel: true } : {}),
        microBatch: 1,
      },
    }),
  );
  expect(plan.status).toBe('optimal');
  return plan;
}

describe("MoE routing under sequence parallelism, as Megatron-Core's all-to-all dispatcher runs it", () => {
  it('gathers the routed tokens before the experts and reduce-scatters them after: no all-reduce', async () => {
    const plan = await priced(2, 4);
    const block = plan.stages[0]!.layerPlans.find((l) => l.layer.startsWith('block'))!;
    const ops = new Map(block.ops.map((op) => [op.op.replace(/^block\d+\./, ''), op]));
    const kinds = (name: string, phase: string) =>
      ops
        .get(name)!
        .collectives.filter((c) => c.phase === phase && !c.reason.startsWith('gradient of'))
        .map((c) => c.kind);
    expect(kinds('dispatch', 'forward')).toEqual([]);
    // The sort by local expert follows the dispatch's slots; the gate projection gathers them.
    const gathered = [...ops.keys()].filter((n) => kinds(n, 'forward').includes('all-gather'));
    expect(gathered.some((n) => n.startsWith('expert_'))).toBe(true);
    // The row-parallel down projection reduce-scatters onto the slots the combine reads.
    expect(kinds('expert_down_proj', 'forward')).toEqual(['reduce-scatter']);
    expect(kinds('combine', 'forward')).toEqual([]);
    for (const op of block.ops)
      if (/dispatch|combine|expert_/.test(op.op))
        expect(
          op.collectives.filter((c) => c.kind === 'all-reduce' && !c.reason.startsWith('gradient of')),
        ).toEqual([]);
  });

  it('the all-to-all moves each rank’s own share of the sequence: half as much at tp 2 as at tp 1', async () => {
    const [tp1, tp2] = [await priced(1, 8), await priced(2, 4)];
    const ratio = tp2.breakdown!.epCommSec / tp1.breakdown!.epCommSec;
    // Bytes halve; each collective's fixed latency does not.
    expect(ratio).toBeGreaterThan(0.45);
    expect(ratio).toBeLessThan(0.6);
  });
});
