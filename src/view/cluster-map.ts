import type { Plan } from '../schema/index.ts';
import { formatCount, formatInFlight, formatSec } from './format.ts';
import { html, type SafeHtml } from './html.ts';
import { renderNodeMap } from './node-map.ts';
import { seriesSwatch } from './palette.ts';
import { type NodeShape, pipelineReplicas, totalDevices } from './placement.ts';
import { renderReplicaGrid } from './replica-grid.ts';

function stageTable(plan: Plan, replicas: number): SafeHtml {
  const rows = plan.stages.map((stage, s) => {
    const swatch = seriesSwatch(s);
    const [a, b] = stage.logicalMesh;
    return html`<tr data-stage="${s}"><th scope="row"><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" fill="${swatch.fill}"></rect></svg> Stage ${s}</th><td>${stage.layerNames[0]} – ${stage.layerNames[1]} (layers ${stage.layers[0]}–${stage.layers[1]})</td><td class="num">${stage.subMesh.nodes} × ${stage.subMesh.devicesPerNode}</td><td class="num" data-mesh="${a}x${b}">${a} × ${b}</td><td class="num">${replicas}</td><td class="num" data-value="${stage.latencySec}">${formatSec(stage.latencySec)}</td><td class="num">${formatInFlight(stage.inFlightMicrobatches)}</td></tr>`;
  });
  return html`<table id="stages"><caption class="note">Stages of one pipeline replica</caption><thead><tr><th scope="col">Stage</th><th scope="col">Layers</th><th scope="col" class="num">Sub-mesh (nodes × GPUs)</th><th scope="col" class="num">Logical mesh</th><th scope="col" class="num">Replicas</th><th scope="col" class="num">Latency per microbatch</th><th scope="col" class="num">Microbatches in flight</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/**
 * Which GPU runs what: nodes × GPUs when the node shape is known, else the replicas × stages grid;
 * then each stage's layers, sub-mesh and logical mesh. Null when the plan has no stages.
 */
export function renderClusterMap(plan: Plan, shape: NodeShape | null): SafeHtml | null {
  const summary = plan.summary;
  if (summary === null || plan.stages.length === 0) return null;
  const replicas = pipelineReplicas(plan, summary);
  const drawing = shape === null ? renderReplicaGrid(plan, replicas) : renderNodeMap(plan, replicas, shape);
  return html`<figure>
<figcaption>Each square is a GPU, coloured and numbered by the pipeline stage that owns it: ${formatCount(totalDevices(plan, replicas))} GPUs, ${plan.stages.length} stages × ${formatCount(replicas)} data-parallel replicas of the pipeline. ${drawing.caption} Ranks follow Megatron-LM's order (a stage's sub-mesh, then its replicas, then the next stage), the placement the cost model prices. Hover a square for its rank and place in the stage's logical mesh.</figcaption>
${drawing.svg}
</figure>
${stageTable(plan, replicas)}`;
}
