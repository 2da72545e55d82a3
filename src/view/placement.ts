import type { Plan, StageOut, Summary } from '../schema/index.ts';
import { html, type SafeHtml } from './html.ts';
import { seriesSwatch } from './palette.ts';

/** Node shape of the cluster, when the page knows the request (the plan alone does not carry it). */
export interface NodeShape {
  readonly nodes: number;
  readonly gpusPerNode: number;
}

export interface Device {
  readonly rank: number;
  readonly stage: number;
  /** Which data-parallel copy of the pipeline. */
  readonly replica: number;
  /** Index inside the stage's sub-mesh, row-major over its logical mesh. */
  readonly local: number;
}

export function stageDevices(stage: StageOut): number {
  return stage.subMesh.nodes * stage.subMesh.devicesPerNode;
}

/**
 * Pipeline replicas: summary.dp also counts batch splits inside a stage's mesh, which summary.tp
 * leaves out, so dp × tp is the devices of all replicas of the first stage.
 */
export function pipelineReplicas(plan: Plan, summary: Summary): number {
  const first = stageDevices(plan.stages[0]!);
  return Math.max(1, Math.round((summary.dp * summary.tp) / Math.max(1, first)));
}

export function totalDevices(plan: Plan, replicas: number): number {
  return replicas * plan.stages.reduce((n, stage) => n + stageDevices(stage), 0);
}

/**
 * The device at `rank` in Megatron-LM's order: a stage's sub-mesh innermost, then its data-parallel
 * replicas, then the next stage. It is the placement the cost model prices (a stage's replicas share
 * a node when they fit in one; hand-overs between stages cross nodes once those fill one). Null past
 * the last device.
 */
export function deviceAtRank(plan: Plan, replicas: number, rank: number): Device | null {
  let offset = 0;
  for (const [stage, out] of plan.stages.entries()) {
    const m = stageDevices(out);
    if (rank < offset + replicas * m) {
      const within = rank - offset;
      return { rank, stage, replica: Math.floor(within / m), local: within % m };
    }
    offset += replicas * m;
  }
  return null;
}

export function rankOf(plan: Plan, replicas: number, stage: number, replica: number, local: number): number {
  let offset = 0;
  for (let s = 0; s < stage; s++) offset += replicas * stageDevices(plan.stages[s]!);
  return offset + replica * stageDevices(plan.stages[stage]!) + local;
}

/** One GPU square, coloured and (when large enough) numbered by its stage. */
export function gpuSquare(device: Device, x: number, y: number, cell: number, title: string): SafeHtml {
  const swatch = seriesSwatch(device.stage);
  const text =
    cell >= 20
      ? html`<text x="${x + cell / 2}" y="${y + cell / 2 + 4}" text-anchor="middle" class="${swatch.text === '#ffffff' ? 'on-dark' : ''}" aria-hidden="true">${device.stage}</text>`
      : '';
  return html`<g class="gpu" data-rank="${device.rank}" data-stage="${device.stage}" data-replica="${device.replica}"><title>${title}</title><rect x="${x + 1}" y="${y + 1}" width="${cell - 2}" height="${cell - 2}" fill="${swatch.fill}" stroke="#333" stroke-width="0.5"></rect>${text}</g>`;
}

export function meshPlace(plan: Plan, device: Device): string {
  const [a, b] = plan.stages[device.stage]!.logicalMesh;
  return `stage ${device.stage}, pipeline replica ${device.replica}, device (${Math.floor(device.local / b)}, ${device.local % b}) of its ${a}×${b} logical mesh`;
}

/** What a figure drew and whether it left some out. */
export interface MapDrawing {
  readonly svg: SafeHtml;
  readonly caption: SafeHtml;
}
