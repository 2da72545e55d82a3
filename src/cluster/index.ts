import { ClusterSpec } from '../schema/cluster.ts';
import { parseOrThrow } from '../schema/errors.ts';
import { type Cluster, resolveCluster } from './cluster.ts';

export type { Cluster, Link } from './cluster.ts';

/** Validates untrusted JSON as a cluster and fills link defaults from the GPU catalog. */
export function parseCluster(value: unknown): Cluster {
  return resolveCluster(parseOrThrow(ClusterSpec, value, 'cluster'));
}
