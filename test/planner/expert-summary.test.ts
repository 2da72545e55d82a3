import { describe, expect, it } from 'vitest';
import { plan } from '../../src/planner/plan.ts';

/*
 * The ILP may split the experts over a stage's own mesh (expert parallelism inside the node, the
 * tokens gathered to every device as Megatron's allgather dispatcher does). The summary must say so:
 * its ep and etp are read from the expert GEMMs' layouts, which the plan reports op by op.
 */
describe('expert degrees in the summary', () => {
  it('counts the mesh axes that split the experts as expert parallelism, the rest as expert tensor parallelism', async () => {
    const p = await plan({
      model: {
        kind: 'transformer',
        layers: 4,
        hidden: 2048,
        heads: 16,
        ffnHidden: 8192,
        vocab: 32000,
        seqLen: 2048,
        activation: 'swiglu',
        moe: { experts: 16, topK: 2, ffnHidden: 512, dropless: true },
      },
      cluster: { gpu: 'H100-80GB', nodes: 1, gpusPerNode: 8 },
      training: { globalBatch: 32, precision: 'bf16' },
      parallel: { tp: 8, pp: 1, ep: 1 },
    });
    expect(p.status).toBe('optimal');
    const s = p.summary!;
    // Oracle: the per-op layouts of the first MoE block, as the plan reports them.
    const stage = p.stages[0]!;
    const [a0, a1] = stage.logicalMesh;
    const experts = stage.layerPlans
      .flatMap((lp) => lp.ops)
      .filter((o) => o.kind === 'matmul' && o.op.includes('expert_'));
    expect(experts.length).toBeGreaterThan(0);
    const splitsExperts = (axis: 'axis0' | 'axis1') => experts.every((o) => o.strategy[axis] === 'e');
    const inMesh = (splitsExperts('axis0') ? a0 : 1) * (splitsExperts('axis1') ? a1 : 1);
    expect(inMesh).toBeGreaterThan(1);
    expect(s.ep).toBe(inMesh);
    expect(Number.isInteger(s.etp)).toBe(true);
    expect(s.ep * s.etp).toBe(s.tp);
  }, 120_000);
});
