import { InvalidInputError } from '../schema/errors.ts';
import { groupAxis, type MeshAxis } from './axis.ts';
import type { Cluster } from './cluster.ts';

export type { MeshAxis } from './axis.ts';

/** A 2-D logical mesh [a0, a1]; axis 0 is the slow one (spans nodes first), axis 1 the fast one. */
export interface LogicalMesh {
  readonly shape: readonly [number, number];
  readonly axes: readonly [MeshAxis, MeshAxis];
  readonly devices: number;
}

/*
 * Devices are numbered node-major and the mesh is laid row-major over the first a0·a1 of them, so
 * an axis-1 group is a1 consecutive devices and an axis-0 group strides by a1. A ring over a group
 * that crosses a node boundary is paced by the network, where every device of the node sends at
 * once: each gets the per-GPU inter-node bandwidth (DESIGN.md §4), and collectives run as NCCL
 * runs them over that layout (./collective-algorithms.ts).
 */
function groupSpansNodes(first: number, stride: number, size: number, gpusPerNode: number): boolean {
  return Math.floor(first / gpusPerNode) !== Math.floor((first + stride * (size - 1)) / gpusPerNode);
}

export function logicalMesh(cluster: Cluster, shape: readonly [number, number]): LogicalMesh {
  const [a0, a1] = shape;
  if (!Number.isInteger(a0) || !Number.isInteger(a1) || a0 < 1 || a1 < 1) {
    throw new InvalidInputError([
      { path: 'mesh', message: `mesh sizes must be positive integers, got ${a0}x${a1}` },
    ]);
  }
  if (a0 * a1 > cluster.devices) {
    throw new InvalidInputError([
      {
        path: 'mesh',
        message: `mesh ${a0}x${a1} needs ${a0 * a1} devices but the cluster has ${cluster.devices}`,
      },
    ]);
  }
  const g = cluster.gpusPerNode;
  let axis1Spans = false;
  for (let i0 = 0; i0 < a0 && !axis1Spans; i0++) axis1Spans = groupSpansNodes(i0 * a1, 1, a1, g);
  let axis0Spans = false;
  for (let i1 = 0; i1 < a1 && !axis0Spans; i1++) axis0Spans = groupSpansNodes(i1, a1, a0, g);
  const axes: [MeshAxis, MeshAxis] = [
    groupAxis(cluster, a0, a1, axis0Spans),
    groupAxis(cluster, a1, 1, axis1Spans),
  ];
  return {
    shape: [a0, a1],
    axes,
    devices: a0 * a1,
  };
}

/** Parses "AxB" (also "A×B"). */
export function parseMeshShape(text: string): [number, number] {
  const match = /^\s*(\d+)\s*[x×X*]\s*(\d+)\s*$/.exec(text);
  if (match === null) {
    throw new InvalidInputError([{ path: 'mesh', message: `expected AxB such as 2x4, got "${text}"` }]);
  }
  return [Number(match[1]), Number(match[2])];
}
