/**
 * Where a stage's peers sit (DESIGN.md §3), as Megatron-LM orders ranks: the stage's own mesh
 * innermost (tensor parallelism), its context-parallel peers next, then data parallelism (expert
 * parallelism carved from the context- and data-parallel ranks next to the stage), pipeline
 * neighbours outermost. A group whose members span nodes crosses the network, where every device of
 * a node sends at once.
 */
import { groupAxis } from '../cluster/axis.ts';
import type { Cluster } from '../cluster/cluster.ts';
import type { MeshAxis } from '../cluster/mesh.ts';
import type { OuterGroups } from './exchange.ts';

/** The outer parallel degrees around a stage. */
export interface OuterDegrees {
  readonly dp: number;
  readonly cp: number;
  readonly ep: number;
}

/** Links a stage talks over outside its own mesh. */
export interface StageLinks {
  /** Dense parameters' gradients reduce over every data- and context-parallel peer. */
  readonly dataParallel: MeshAxis;
  /** Experts' gradients reduce over the peers that hold the same experts. */
  readonly expertDataParallel: MeshAxis;
  readonly outer: OuterGroups;
  readonly pipelineAlphaSec: number;
  readonly pipelineBetaSecPerByte: number;
}

/** A group of `size` peers, `inner` devices apart. */
function group(cluster: Cluster, inner: number, size: number): MeshAxis {
  return groupAxis(cluster, size, inner, inner * size > cluster.gpusPerNode);
}

export function stageLinks(cluster: Cluster, stageDevices: number, degrees: OuterDegrees): StageLinks {
  const { dp, cp, ep } = degrees;
  const replicas = dp * cp;
  // Pipeline neighbours are on another node once one stage's replicas fill a node.
  const ppLink = stageDevices * replicas >= cluster.gpusPerNode ? cluster.interNode : cluster.intraNode;
  return {
    dataParallel: group(cluster, stageDevices, replicas),
    expertDataParallel: group(cluster, stageDevices * ep, replicas / ep),
    outer: { cp: group(cluster, stageDevices, cp), ep: group(cluster, stageDevices, ep) },
    pipelineAlphaSec: ppLink.latencySec,
    pipelineBetaSecPerByte: 1 / ppLink.bytesPerSec,
  };
}
