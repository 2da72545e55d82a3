import type { Plan } from '../schema/index.ts';
import { formatCount } from './format.ts';
import { html } from './html.ts';
import { gpuSquare, type MapDrawing, meshPlace, rankOf } from './placement.ts';

const LABEL_W = 64;
const MAX_WIDTH = 1100;

/**
 * The logical picture, for a page that does not know the node size: pipeline replicas side by
 * side, one row per stage, each stage's GPUs laid out as its logical mesh (rows × columns).
 */
export function renderReplicaGrid(plan: Plan, replicas: number): MapDrawing {
  const maxRows = Math.max(...plan.stages.map((s) => s.logicalMesh[0]));
  const maxCols = Math.max(...plan.stages.map((s) => s.logicalMesh[1]));
  const cell = maxCols <= 8 && maxRows <= 4 ? 26 : 12;
  const colW = Math.max(maxCols * cell + 10, 70);
  const shown = Math.min(replicas, Math.max(1, Math.floor((MAX_WIDTH - LABEL_W) / colW)));
  const rowTop: number[] = [];
  let y = 20;
  for (const stage of plan.stages) {
    rowTop.push(y);
    y += stage.logicalMesh[0] * cell + 12;
  }
  const width = LABEL_W + shown * colW;
  const height = y;
  const header = Array.from(
    { length: shown },
    (_, r) => html`<text x="${LABEL_W + r * colW + 4}" y="12">replica ${r}</text>`,
  );
  const rows = plan.stages.map((stage, s) => {
    const [a, b] = stage.logicalMesh;
    const top = rowTop[s]!;
    const blocks = Array.from({ length: shown }, (_, r) => {
      const left = LABEL_W + r * colW + 4;
      const squares = Array.from({ length: a * b }, (_, local) => {
        const device = { rank: rankOf(plan, replicas, s, r, local), stage: s, replica: r, local };
        const x = left + (local % b) * cell;
        const yy = top + Math.floor(local / b) * cell;
        return gpuSquare(device, x, yy, cell, `rank ${device.rank}: ${meshPlace(plan, device)}`);
      });
      return html`<rect class="frame" x="${left - 1.5}" y="${top - 1.5}" width="${b * cell + 3}" height="${a * cell + 3}" rx="3"></rect>${squares}`;
    });
    return html`<g class="stage-row" data-stage="${s}"><text x="0" y="${top + Math.min(a * cell, cell) / 2 + 4}">stage ${s}</text>${blocks}</g>`;
  });
  const truncated =
    shown < replicas
      ? html` <strong data-truncated="true">Showing ${formatCount(shown)} of the ${formatCount(replicas)} identical replicas.</strong>`
      : '';
  return {
    svg: html`<svg id="cluster-map" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="Cluster map: ${plan.stages.length} stages by ${replicas} pipeline replicas, each stage's GPUs as its logical mesh">${header}${rows}</svg>`,
    caption: html`The plan does not carry the cluster's node size, so the map is logical: pipeline replicas side by side, one row per stage, each stage's GPUs laid out as its logical mesh (mesh axis 0 down, axis 1 across).${truncated}`,
  };
}
