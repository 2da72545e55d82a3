import type { MemoryBreakdown, Plan } from '../schema/index.ts';
import { formatBytes, formatInFlight, formatPercent } from './format.ts';
import { html, type SafeHtml } from './html.ts';
import { legend } from './legend.ts';
import { OKABE_ITO, type Swatch } from './palette.ts';
import { stackSegments, type Term } from './stacked-bar.ts';

const MEMORY_TERMS: readonly { key: keyof MemoryBreakdown; label: string; swatch: Swatch }[] = [
  { key: 'parametersBytes', label: 'parameters', swatch: OKABE_ITO.blue },
  { key: 'gradientsBytes', label: 'gradients', swatch: OKABE_ITO.skyBlue },
  { key: 'optimizerBytes', label: 'optimizer state', swatch: OKABE_ITO.orange },
  { key: 'activationsBytes', label: 'activations', swatch: OKABE_ITO.bluishGreen },
];

const LABEL_W = 70;
const CAPACITY_W = 600;
const MIX_X = LABEL_W + CAPACITY_W + 24;
const MIX_W = 240;
const ROW_H = 20;
const ROW_GAP = 8;
const TOP = 22;

function termsOf(memory: MemoryBreakdown): Term[] {
  return MEMORY_TERMS.map((t) => ({ ...t, value: memory[t.key] }));
}

/**
 * Memory per device of each stage by kind: against the GPU's whole memory (one scale for all
 * stages) and, since a small model leaves that bar nearly empty, as a mix of its own total.
 */
export function renderMemory(plan: Plan): SafeHtml {
  const capacity = Math.max(...plan.stages.map((s) => Math.max(s.memory.capacityBytes, s.memory.totalBytes)));
  const height = TOP + plan.stages.length * (ROW_H + ROW_GAP);
  const rows = plan.stages.map((stage, s) => {
    const { memory } = stage;
    const y = TOP + s * (ROW_H + ROW_GAP);
    const used = `${formatBytes(memory.totalBytes)} of ${formatBytes(memory.capacityBytes)} (${formatPercent(memory.totalBytes / memory.capacityBytes)})`;
    return html`<g data-stage="${s}"><title>Stage ${s}: ${used}</title><text x="0" y="${y + ROW_H / 2 + 4}">Stage ${s}</text>${stackSegments(termsOf(memory), capacity, { x: LABEL_W, y, width: CAPACITY_W, height: ROW_H }, formatBytes)}${stackSegments(termsOf(memory), Math.max(1, memory.totalBytes), { x: MIX_X, y, width: MIX_W, height: ROW_H }, formatBytes)}</g>`;
  });
  const rowsTable = plan.stages.map(
    (stage, s) =>
      html`<tr data-stage="${s}"><th scope="row">Stage ${s}</th>${MEMORY_TERMS.map((t) => html`<td class="num" data-value="${stage.memory[t.key]}">${formatBytes(stage.memory[t.key])}</td>`)}<td class="num" data-value="${stage.memory.totalBytes}">${formatBytes(stage.memory.totalBytes)}</td><td class="num">${formatPercent(stage.memory.totalBytes / stage.memory.capacityBytes)}</td><td class="num" data-value="${stage.memory.capacityBytes}">${formatBytes(stage.memory.capacityBytes)}</td></tr>`,
  );
  const width = MIX_X + MIX_W + 2;
  return html`<figure>
<figcaption>Bytes per GPU at each stage's peak (activations of ${plan.stages.map((s) => formatInFlight(s.inFlightMicrobatches)).join(' / ')} microbatches in flight). Left: against the GPU's whole memory (${formatBytes(capacity)}; the planner keeps a headroom below it for the allocator and CUDA context). Right: the same bytes as a mix by kind.</figcaption>
${legend(MEMORY_TERMS.map((t) => ({ label: t.label, swatch: t.swatch })))}
<svg id="memory-chart" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-label="Memory per GPU of each stage by kind against the GPU's ${formatBytes(capacity)}">
<text x="${LABEL_W}" y="14">against GPU memory (${formatBytes(capacity)})</text><text x="${MIX_X}" y="14">mix by kind</text>
${rows}
</svg>
</figure>
<table id="memory-table"><thead><tr><th scope="col">Stage</th>${MEMORY_TERMS.map((t) => html`<th scope="col" class="num">${t.label}</th>`)}<th scope="col" class="num">total</th><th scope="col" class="num">share of GPU</th><th scope="col" class="num">GPU memory</th></tr></thead>
<tbody>${rowsTable}</tbody></table>`;
}
