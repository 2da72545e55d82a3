import { resolveCluster } from '../../src/cluster/cluster.ts';
import { logicalMesh } from '../../src/cluster/mesh.ts';
import { parseGraph } from '../../src/graph/index.ts';
import { type ClusterInput, ClusterSpec, type OpGraphInput } from '../../src/schema/index.ts';

export function matmulGraph(dims: { b: number; s: number; h: number; f: number }): OpGraphInput {
  const { b, s, h, f } = dims;
  return {
    name: 'matmul',
    tensors: [
      { name: 'x', shape: [b, s, h] },
      { name: 'w', shape: [h, f], param: true },
      { name: 'y', shape: [b, s, f] },
    ],
    ops: [{ name: 'mm', einsum: 'bsh,hf->bsf', inputs: ['x', 'w'], output: 'y', kind: 'matmul' }],
  };
}

export function setup(graph: unknown, cluster: ClusterInput, shape: [number, number]) {
  const c = resolveCluster(ClusterSpec.parse({ intraNodeLatencyUs: 5, interNodeLatencyUs: 10, ...cluster }));
  return { graph: parseGraph(graph), cluster: c, mesh: logicalMesh(c, shape) };
}
