/**
 * The search's memory escalation with torchtitan's per-op selective checkpointing: none, selective
 * (the attention core), per-op, full. Per-op is torchtitan's own policy, so only its goal tries it;
 * every other framework goes on to full recomputation. The case: Llama 3 8B on one 8× H100 node,
 * FSDP over all eight, two 8,192-token sequences a microbatch (torchtitan's Table 1 run): without
 * recomputation its activations do not fit in 80 GB; with per-op they do.
 */
import { describe, expect, it } from 'vitest';
import { recomputeOrder } from '../../src/planner/config-space.ts';
import { goalRecomputes, goalsFor } from '../../src/planner/goals.ts';
import { plan } from '../../src/planner/plan.ts';
import { PlanRequest, type PlanRequestInput } from '../../src/schema/index.ts';
import { LLAMA3_8B } from '../support/models.ts';

function request(target: 'torchtitan' | 'megatron'): PlanRequestInput {
  return {
    model: { ...LLAMA3_8B, name: 'Llama 3.1 8B' },
    cluster: { gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 },
    training: { globalBatch: 16, precision: 'bf16', optimizer: 'adam' },
    parallel: { tp: 1, pp: 1, dp: 8, microBatch: 2, zero: 3 },
    options: { target, timeLimitSec: 120 },
  };
}

describe('per-op recomputation in the search', () => {
  it('comes between selective and full, and only torchtitan’s goal escalates through it unless pinned', () => {
    expect(recomputeOrder(PlanRequest.parse(request('torchtitan')))).toEqual([
      'none',
      'selective',
      'per-op',
      'full',
    ]);
    const goals = goalsFor('any');
    expect(goals.filter((g) => goalRecomputes(g, 'per-op', false)).map((g) => g.name)).toEqual([
      'torchtitan',
    ]);
    expect(goals.every((g) => goalRecomputes(g, 'per-op', true))).toBe(true);
    expect(goals.every((g) => goalRecomputes(g, 'full', false))).toBe(true);
  });

  it('gives torchtitan per-op where nothing less fits, and Megatron-LM full recomputation', {
    timeout: 300_000,
  }, async () => {
    const titan = await plan(request('torchtitan'));
    expect(titan.status).toBe('optimal');
    expect(titan.summary!.recompute).toBe('per-op');
    const megatron = await plan(request('megatron'));
    expect(megatron.status).toBe('optimal');
    expect(megatron.summary!.recompute).toBe('full');
    // The escalation's reasons, each pinned for torchtitan itself: nothing less than per-op fits, and
    // full, which redoes more, fits but is slower.
    const pinned = (recompute: 'none' | 'selective' | 'full') => {
      const r = request('torchtitan');
      return plan({ ...r, parallel: { ...r.parallel, recompute } });
    };
    expect((await pinned('none')).status).toBe('infeasible');
    expect((await pinned('selective')).status).toBe('infeasible');
    const full = await pinned('full');
    expect(full.status).toBe('optimal');
    expect(titan.summary!.stepTimeSec).toBeLessThan(full.summary!.stepTimeSec);
  });
});
