import { runStageDp, StageDpWorkspace, C } from './cnt/stage-dp-kernel.ts';
import { buildStageTable } from './cnt/stage-dp-table.ts';
import { gptLike } from './bench.ts';
for (const mem of ['loose', 'binding', 'tight'] as const) {
  const p = gptLike(128, 48, [1, 2, 3, 4, 6, 8, 12, 16], 1, mem);
  const t = buildStageTable(p, true);
  const ws = new StageDpWorkspace(t);
  Object.assign(C, { visits: 0, inner: 0, all: 0, tierAll: 0, rows: 0 });
  const s = performance.now();
  const r = runStageDp(ws, Infinity);
  console.log(mem, 'tiers', ws.tiers, 'ms', (performance.now() - s).toFixed(1), JSON.stringify(C), 'S', r.entries.length, 'usedRows', ws.usedRows, 'entries', t.latencySec.length);
}
