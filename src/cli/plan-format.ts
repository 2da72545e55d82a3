import type { Plan } from '../schema/index.ts';
import { formatBytes, formatSec } from '../view/format.ts';

/** The human-readable form of `meshplan plan` / `meshplan estimate`. */
export function formatPlan(plan: Plan): string {
  const lines: string[] = [];
  if (plan.summary === null) {
    lines.push(`${plan.status}: ${plan.reason ?? 'no plan'}`);
    if (plan.shortfallBytes !== undefined)
      lines.push(`shortfall ${formatBytes(plan.shortfallBytes)} per device`);
    return lines.join('\n');
  }
  const s = plan.summary;
  lines.push(
    `${plan.status}${plan.reason ? ` (${plan.reason})` : ''}: dp ${s.dp} × tp ${s.tp} × pp ${s.pp}${s.cp > 1 ? ` × cp ${s.cp}` : ''}${s.ep > 1 ? `, ep ${s.ep} (etp ${s.etp})` : ''}, microbatch ${s.microBatch} × ${s.microbatches}, ` +
      `${s.schedule}${s.virtualStages > 1 ? ` v=${s.virtualStages}` : ''}, recompute ${s.recompute}${s.recomputeModules ? ` (${s.recomputeModules.join(', ')})` : ''}, ZeRO ${s.zero}` +
      `${s.sequenceParallel ? ', sequence parallel' : ''}`,
    `step ${formatSec(s.stepTimeSec)}  ${Math.round(s.tokensPerSec).toLocaleString('en-US')} tokens/s  ` +
      `${s.tflopsPerDevice.toFixed(1)} TFLOP/s per GPU (MFU ${(s.mfu * 100).toFixed(1)}%)  peak memory ${formatBytes(s.peakMemoryBytes)}`,
  );
  const b = plan.breakdown!;
  lines.push(
    `breakdown: compute ${formatSec(b.computeSec)}, tp ${formatSec(b.tpCommSec)}, reshard ${formatSec(b.reshardSec)}, ` +
      (b.cpCommSec > 0 ? `cp ${formatSec(b.cpCommSec)}, ` : '') +
      (b.epCommSec > 0 ? `ep ${formatSec(b.epCommSec)}, ` : '') +
      `pp ${formatSec(b.ppCommSec)}, dp ${formatSec(b.dpCommSec)}, bubble ${formatSec(b.bubbleSec)}, optimizer ${formatSec(b.optimizerSec)}`,
    'stages:',
  );
  for (const [i, st] of plan.stages.entries()) {
    lines.push(
      `  ${String(i).padStart(3)}  ${st.layerNames[0]}..${st.layerNames[1]}  mesh ${st.logicalMesh.join('x')}  ` +
        `${formatSec(st.latencySec)}/microbatch  ${formatBytes(st.memoryBytes)} (${st.inFlightMicrobatches} in flight)`,
    );
  }
  const megatron = plan.exports?.megatron;
  if (megatron?.expressible) lines.push('megatron-lm:', `  ${megatron.args.join(' ')}`);
  else if (megatron)
    lines.push(`megatron-lm: not expressible (${megatron.notes[0] ?? 'see the JSON export notes'})`);
  lines.push(
    `solver: ${plan.solver.ilpSolves} ILP solves, ${plan.solver.configurationsTried} configurations, ${plan.solver.wallSec.toFixed(2)} s`,
  );
  return lines.join('\n');
}
