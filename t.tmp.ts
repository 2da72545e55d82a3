import { loadReferenceRuns } from '/work/main/bench/reference-runs.ts';
import { estimate } from '/work/main/src/planner/estimate.ts';
const run = (await loadReferenceRuns()).find((r) => r.id === 'megatron-readme-h100-1.7B')!;
const p = await estimate(run.request as never);
const st = p.stages![0]!;
for (const lp of st.layerPlans as any[]) {
  if (lp.layer === 'block') { console.log('block', lp.count, lp.ops.length); continue; }
  console.log(lp.layer, lp.count, lp.ops.map((o: any) => o.op + ':' + o.kind).join(' '));
}
console.log(JSON.stringify(p.breakdown));
console.log(JSON.stringify(run.request).slice(0, 800));
