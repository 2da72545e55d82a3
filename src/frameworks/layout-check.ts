import { megatronStrategy } from '../cost/megatron-layout.ts';
import { DIM } from '../graph/letters.ts';
import type { StageOut, Summary } from '../schema/index.ts';
import type { ResolvedOp } from './planned-layers.ts';

/**
 * What a mesh axis does across the plan: `data` when ops split only the batch dim along it (or
 * nothing: a size-1 axis is trivially one), `model` when they never split b, `mixed` otherwise.
 */
export type AxisRole = 'data' | 'model' | 'mixed';

export interface LayoutFindings {
  /** Stage 0's logical mesh; `uniformMeshes` says whether every stage has it. */
  readonly logicalMesh: readonly [number, number];
  readonly uniformMeshes: boolean;
  readonly roles: readonly [AxisRole, AxisRole];
  /** The single axis that is not a data axis: Megatron's tensor-parallel group. Null without one. */
  readonly tpAxis: 0 | 1 | null;
  /**
   * Why Megatron-style tensor parallelism (Megatron-LM, Megatron-DeepSpeed, torchtitan) does not
   * reproduce the per-op layouts; empty when it does.
   */
  readonly megatronProblems: readonly string[];
  /** Worth saying but not a difference in the layouts. */
  readonly placementNotes: readonly string[];
}

const MISMATCHES_SHOWN = 4;

function roleOf(ops: readonly ResolvedOp[], axis: 0 | 1): AxisRole {
  const splits = new Set(ops.map((r) => (axis === 0 ? r.out.strategy.axis0 : r.out.strategy.axis1)));
  splits.delete(null);
  if ([...splits].every((l) => l === DIM.batch)) return 'data';
  return splits.has(DIM.batch) ? 'mixed' : 'model';
}

const sameMesh = (a: StageOut, b: StageOut) =>
  a.logicalMesh[0] === b.logicalMesh[0] &&
  a.logicalMesh[1] === b.logicalMesh[1] &&
  a.subMesh.nodes === b.subMesh.nodes &&
  a.subMesh.devicesPerNode === b.subMesh.devicesPerNode;

/**
 * Ops whose split on the tensor-parallel axis differs from `megatronStrategy`'s — with the experts
 * over the tp ranks where the plan's expert TP is 1 under tp > 1 (MoE parallel folding).
 */
function megatronMismatches(
  ops: readonly ResolvedOp[],
  tpAxis: 0 | 1,
  tp: number,
  sequenceParallel: boolean,
  expertsOverTp: boolean,
): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const r of ops) {
    const actual = tpAxis === 0 ? r.out.strategy.axis0 : r.out.strategy.axis1;
    const expected = megatronStrategy(r.op, { tp, sequenceParallel, expertsOverTp }).split[1];
    const key = `${r.layer.signature}|${r.out.op}|${actual}`;
    if (actual === expected || seen.has(key)) continue;
    seen.add(key);
    out.push(`${r.out.op} splits ${actual ?? 'nothing'} (Megatron: ${expected ?? 'nothing'})`);
  }
  return out;
}

export function checkLayouts(
  stages: readonly StageOut[],
  ops: readonly ResolvedOp[],
  summary: Summary,
): LayoutFindings {
  const mesh = stages[0]!.logicalMesh;
  const uniformMeshes = stages.every((s) => sameMesh(s, stages[0]!));
  const roles = [roleOf(ops, 0), roleOf(ops, 1)] as const;
  const modelAxes = ([0, 1] as const).filter((j) => roles[j] !== 'data');
  const tpAxis = modelAxes.length === 1 ? modelAxes[0]! : null;
  const problems: string[] = [];
  const placement: string[] = [];
  if (!uniformMeshes) {
    const meshes = stages.map((s) => `[${s.logicalMesh.join(', ')}]`).join(', ');
    problems.push(
      `stages use different logical meshes (${meshes}); Megatron-style runs give every stage the same tp`,
    );
  }
  if (modelAxes.length === 2) {
    problems.push(
      `both mesh axes split model dims (2-D tensor parallelism on [${mesh.join(', ')}]); Megatron-style tensor parallelism is 1-D`,
    );
  }
  const tpDevices = tpAxis === null ? 1 : mesh[tpAxis];
  if (modelAxes.length < 2 && tpDevices !== summary.tp) {
    problems.push(
      `the layouts split model dims over ${tpDevices} device(s) but the summary says tp = ${summary.tp}`,
    );
  }
  if (tpAxis !== null) {
    const expertsOverTp = summary.ep > 1 && summary.etp === 1 && summary.tp > 1;
    const mismatches = megatronMismatches(ops, tpAxis, summary.tp, summary.sequenceParallel, expertsOverTp);
    if (mismatches.length > 0) {
      const more =
        mismatches.length > MISMATCHES_SHOWN ? `, and ${mismatches.length - MISMATCHES_SHOWN} more` : '';
      problems.push(
        `${mismatches.length} op layout(s) differ from Megatron-LM's on the tensor-parallel axis: ${mismatches.slice(0, MISMATCHES_SHOWN).join('; ')}${more}`,
      );
    }
    if (tpAxis === 0 && mesh[1] > 1) {
      placement.push(
        `the plan puts tensor parallelism on mesh axis 0 and data parallelism on axis 1; Megatron-style launchers place the tp group on adjacent ranks (the fast axis)`,
      );
    }
  }
  return {
    logicalMesh: mesh,
    uniformMeshes,
    roles,
    tpAxis,
    megatronProblems: problems,
    placementNotes: placement,
  };
}
