import type { IntraOpPlan } from '../schema/index.ts';
import { formatBytes, formatSec } from '../view/format.ts';

/** Columns padded to their widest cell, two spaces apart. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, c) => cell.padEnd(widths[c]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The human-readable form of `meshplan shard`. */
export function formatIntraOpPlan(plan: IntraOpPlan): string {
  const [a0, a1] = plan.mesh.shape;
  const lines = [
    `graph ${plan.graph} on a ${a0}x${a1} mesh: ${plan.status} (${plan.solver.backend}, ${plan.solver.wallSec.toFixed(3)} s, ` +
      `${plan.solver.ilpNodes} ILP nodes, ${plan.solver.strategies} strategies)`,
  ];
  if (plan.totals === null) {
    lines.push(`no plan: ${plan.reason ?? plan.status}`);
    return lines.join('\n');
  }
  const rows = [['op', 'strategy', 'output spec', 'compute', 'comm', 'collectives']];
  for (const op of plan.ops) {
    const spec = `[${op.outputSpec.spec.join(',')}]${op.outputSpec.partialAxes.map((a) => ` P${a}`).join('')}`;
    const colls = op.collectives.map((c) => `${c.kind}@${c.axis}(${c.phase[0]})`).join(' ');
    rows.push([
      op.follows === null ? op.op : `${op.op} ↳${op.follows}`,
      op.strategy.label,
      spec,
      formatSec(op.computeSec.forward + op.computeSec.backward),
      formatSec(op.commSec),
      colls,
    ]);
  }
  lines.push(table(rows));
  const t = plan.totals;
  lines.push(
    `step cost ${formatSec(t.totalSec)} = compute ${formatSec(t.computeSec)} + collectives ${formatSec(t.commSec)} + resharding ${formatSec(t.reshardSec)}`,
    `memory per device ${formatBytes(t.memoryBytesPerDevice)}${plan.memoryBudgetBytes === null ? '' : ` (budget ${formatBytes(plan.memoryBudgetBytes)})`}`,
  );
  return lines.join('\n');
}
