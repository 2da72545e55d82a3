import type { Plan } from '../schema/index.ts';
import { formatCount } from './format.ts';
import { html } from './html.ts';
import {
  deviceAtRank,
  gpuSquare,
  type MapDrawing,
  meshPlace,
  type NodeShape,
  totalDevices,
} from './placement.ts';

/** More squares than this and the map draws the first nodes only. */
const MAX_DEVICES_DRAWN = 4096;

/** The physical picture: one box per node, its GPUs in rank order. */
export function renderNodeMap(plan: Plan, replicas: number, shape: NodeShape): MapDrawing {
  const g = shape.gpusPerNode;
  const nodes = Math.max(shape.nodes, Math.ceil(totalDevices(plan, replicas) / g));
  const drawnNodes = Math.min(nodes, Math.max(1, Math.floor(MAX_DEVICES_DRAWN / g)));
  const cell = nodes * g <= 256 && g <= 16 ? 26 : 12;
  // Wide enough for its "node 123" label even with one or two GPUs.
  const boxW = Math.max(g * cell + 8, 64);
  const boxH = cell + 26;
  const perRow = Math.max(1, Math.floor(1100 / (boxW + 12)));
  const width = Math.min(drawnNodes, perRow) * (boxW + 12);
  const height = Math.ceil(drawnNodes / perRow) * (boxH + 8);
  const boxes = Array.from({ length: drawnNodes }, (_, n) => {
    const x = (n % perRow) * (boxW + 12);
    const y = Math.floor(n / perRow) * (boxH + 8);
    const squares = Array.from({ length: g }, (_, slot) => {
      const cx = x + 4 + slot * cell;
      const cy = y + 18;
      const device = deviceAtRank(plan, replicas, n * g + slot);
      if (device === null) {
        return html`<rect x="${cx + 1}" y="${cy + 1}" width="${cell - 2}" height="${cell - 2}" fill="#fff" stroke="#999" stroke-dasharray="2 2" data-idle="true"><title>node ${n}, GPU ${slot}: not used by the plan</title></rect>`;
      }
      return gpuSquare(
        device,
        cx,
        cy,
        cell,
        `node ${n}, GPU ${slot} (rank ${device.rank}): ${meshPlace(plan, device)}`,
      );
    });
    return html`<g class="node"><text x="${x + 4}" y="${y + 12}">node ${n}</text><rect class="frame" x="${x + 0.5}" y="${y + 16.5}" width="${boxW - 1}" height="${cell + 3}" rx="3"></rect>${squares}</g>`;
  });
  const truncated =
    drawnNodes < nodes
      ? html` <strong data-truncated="true">Showing the first ${formatCount(drawnNodes)} of ${formatCount(nodes)} nodes.</strong>`
      : '';
  return {
    svg: html`<svg id="cluster-map" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="Cluster map: ${nodes} nodes of ${g} GPUs, coloured by pipeline stage">${boxes}</svg>`,
    caption: html`Each box is a node of ${g} GPUs, its GPUs in rank order.${truncated}`,
  };
}
