import { type Exports, FrameworkName, type FrameworkTarget, type Plan } from '../schema/index.ts';
import { formatBytes, formatInFlight, formatSec, formatZero } from '../view/format.ts';

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
      `${s.schedule}${s.virtualStages > 1 ? ` v=${s.virtualStages}` : ''}, recompute ${s.recompute}${s.recomputeModules ? ` (${s.recomputeModules.join(', ')})` : ''}, ZeRO ${formatZero(s)}` +
      `${s.sequenceParallel ? ', sequence parallel' : ''}`,
    `step ${formatSec(s.stepTimeSec)}  ${Math.round(s.tokensPerSec).toLocaleString('en-US')} tokens/s  ` +
      `${s.tflopsPerDevice.toFixed(1)} TFLOP/s per GPU (MFU ${(s.mfu * 100).toFixed(1)}%)  peak memory ${formatBytes(s.peakMemoryBytes)}`,
  );
  const b = plan.breakdown!;
  lines.push(
    `breakdown: compute ${formatSec(b.computeSec)}, tp ${formatSec(b.tpCommSec)}, reshard ${formatSec(b.reshardSec)}, ` +
      (b.cpCommSec > 0 ? `cp ${formatSec(b.cpCommSec)}, ` : '') +
      (b.epCommSec > 0 ? `ep ${formatSec(b.epCommSec)}, ` : '') +
      `pp ${formatSec(b.ppCommSec)}, dp ${formatSec(b.dpCommSec)}, bubble ${formatSec(b.bubbleSec)}, optimizer ${formatSec(b.optimizerSec)}` +
      (b.hiddenByOverlapSec > 0 ? `, hidden by overlap −${formatSec(b.hiddenByOverlapSec)}` : ''),
    'stages:',
  );
  for (const [i, st] of plan.stages.entries()) {
    lines.push(
      `  ${String(i).padStart(3)}  ${st.layerNames[0]}..${st.layerNames[1]}  mesh ${st.logicalMesh.join('x')}  ` +
        `${formatSec(st.latencySec)}/microbatch  ${formatBytes(st.memoryBytes)} (${formatInFlight(st.inFlightMicrobatches)} in flight)`,
    );
  }
  if (plan.exports) lines.push(...exportLines(plan.exports, plan.target ?? 'any'));
  lines.push(
    `solver: ${plan.solver.ilpSolves} ILP solves, ${plan.solver.configurationsTried} configurations, ${plan.solver.wallSec.toFixed(2)} s`,
  );
  return lines.join('\n');
}

/**
 * The settings to run the plan with, in the text form: the target framework's (Megatron-LM's with
 * target `any`) — its command line, or its main file's name and, for a config, its content — then
 * where the others are.
 */
function exportLines(exports: Exports, target: FrameworkTarget): string[] {
  const shown = target === 'any' ? 'megatron' : target;
  const lines: string[] = [];
  const chosen = exports[shown];
  const label = shown === 'megatron' ? 'megatron-lm' : shown;
  if (!chosen.expressible) {
    lines.push(`${label}: not expressible (${chosen.notes[0] ?? 'see the JSON export notes'})`);
  } else if (shown === 'megatron') {
    lines.push('megatron-lm:', `  ${exports.megatron.args.join(' ')}`);
  } else {
    const main = chosen.files[0];
    lines.push(`${label} (${chosen.release}):`);
    if (main !== undefined) {
      lines.push(`  ${main.path}: ${main.description}`);
      if (shown === 'deepspeed') lines.push(`  ${JSON.stringify(exports.deepspeed.config)}`);
      if (shown === 'torchtitan')
        lines.push(
          ...main.content
            .trimEnd()
            .split('\n')
            .map((l) => `    ${l}`),
        );
    }
  }
  const others = FrameworkName.options.filter((name) => name !== shown && exports[name].expressible);
  if (others.length > 0)
    lines.push(`also expressible: ${others.join(', ')} (meshplan export PLAN.json --framework NAME)`);
  return lines;
}
