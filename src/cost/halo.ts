/**
 * A split sliding window's halo (DESIGN.md §4): a device splitting a stride-1 convolution's spatial
 * axis needs the border rows of its neighbours' shards of the input, and sends them its own; the
 * backward pass returns the gradients of those rows the same way.
 */
import { collectiveSec } from '../cluster/collectives.ts';
import type { LogicalMesh } from '../cluster/mesh.ts';
import type { GraphOp, OpGraph } from '../graph/graph.ts';
import { shardCount } from './layout.ts';
import type { PricedCollective } from './op-cost.ts';
import { type OpStrategy, operandLayout } from './strategy.ts';

export function haloExchanges(
  op: GraphOp,
  strategy: OpStrategy,
  graph: OpGraph,
  mesh: LogicalMesh,
): PricedCollective[] {
  if (op.halo.size === 0) return [];
  const sizes = mesh.shape;
  const out: PricedCollective[] = [];
  for (const j of [0, 1] as const) {
    const letter = strategy.split[j];
    const width = letter === null ? undefined : op.halo.get(letter);
    if (letter === null || width === undefined) continue;
    const input = op.inputs.findIndex(
      (name, i) => !graph.tensors.get(name)!.param && op.einsum.inputs[i]!.includes(letter),
    );
    if (input < 0) continue;
    const tensor = graph.tensors.get(op.inputs[input]!)!;
    const shardBytes = tensor.bytes / shardCount(operandLayout(strategy, op.einsum.inputs[input]!), sizes);
    const ways = [0, 1].reduce((p, k) => (strategy.split[k] === letter ? p * sizes[k]! : p), 1);
    const rows = op.dimSize[letter]! / ways;
    // `width` rows to each of the two neighbours, over the device's one link.
    const bytes = (2 * width * shardBytes) / rows;
    const sec = collectiveSec('halo-exchange', mesh.axes[j], bytes);
    if (sec <= 0) continue;
    const reason = `halo of ${tensor.name}`;
    out.push({ kind: 'halo-exchange', axis: j, bytes, sec, phase: 'forward', reason });
    out.push({
      kind: 'halo-exchange',
      axis: j,
      bytes,
      sec,
      phase: 'backward',
      reason: `${reason} (gradient)`,
    });
  }
  return out;
}
