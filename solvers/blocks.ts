/**
 * Blocks (biconnected components) and articulation points of the op graph, and the block-cut forest that
 * links them. Two blocks share at most one node, an articulation point; once its strategy is fixed the
 * blocks on either side no longer interact, which is what solvers/decompose.ts exploits. A connected
 * component is one tree of the forest. Self-edges belong to their node and never join blocks.
 */

export interface Block {
  /** Nodes of the block, in the order they were found. */
  readonly nodes: readonly number[];
  /** Indices into the problem's edge list of the edges inside the block (self-edges of its nodes included). */
  readonly edges: readonly number[];
}

/** A block in the forest: hung below `parent` (an articulation point), or a component's root (-1). */
export interface RootedBlock extends Block {
  readonly parent: number;
}

/**
 * Blocks of the graph, each after the block it hangs from (roots first in their component), so that
 * solving them from last to first sees every child before its parent. An isolated node is a block of
 * its own.
 */
export function blockForest(nodeCount: number, edges: readonly (readonly [number, number])[]): RootedBlock[] {
  const adjacency: { to: number; edge: number }[][] = Array.from({ length: nodeCount }, () => []);
  edges.forEach(([a, b], edge) => {
    if (a === b) return;
    adjacency[a]!.push({ to: b, edge });
    adjacency[b]!.push({ to: a, edge });
  });
  const order = new Array<number>(nodeCount).fill(-1);
  const low = new Array<number>(nodeCount).fill(0);
  const blocks: RootedBlock[] = [];
  let counter = 0;
  for (let root = 0; root < nodeCount; root++) {
    if (order[root]! >= 0) continue;
    order[root] = counter++;
    if (adjacency[root]!.length === 0) {
      blocks.push({ nodes: [root], edges: [], parent: -1 });
      continue;
    }
    // Hopcroft-Tarjan, iteratively (op graphs can be thousands of nodes deep); edges are stacked as met.
    const edgeStack: number[] = [];
    const frames: { node: number; parentEdge: number; next: number }[] = [
      { node: root, parentEdge: -1, next: 0 },
    ];
    const componentBlocks: { nodes: number[]; edges: number[]; top: number }[] = [];
    while (frames.length > 0) {
      const frame = frames[frames.length - 1]!;
      const arc = adjacency[frame.node]![frame.next++];
      if (arc !== undefined) {
        if (arc.edge === frame.parentEdge) continue;
        if (order[arc.to]! < 0) {
          edgeStack.push(arc.edge);
          order[arc.to] = counter++;
          low[arc.to] = order[arc.to]!;
          frames.push({ node: arc.to, parentEdge: arc.edge, next: 0 });
        } else if (order[arc.to]! < order[frame.node]!) {
          edgeStack.push(arc.edge);
          low[frame.node] = Math.min(low[frame.node]!, order[arc.to]!);
        }
        continue;
      }
      frames.pop();
      const parent = frames[frames.length - 1];
      if (parent === undefined) break;
      low[parent.node] = Math.min(low[parent.node]!, low[frame.node]!);
      // The child's subtree reaches no higher than the parent: the parent closes a block.
      if (low[frame.node]! >= order[parent.node]!) {
        const blockEdges: number[] = [];
        for (;;) {
          const edge = edgeStack.pop()!;
          blockEdges.push(edge);
          if (edge === frame.parentEdge) break;
        }
        const nodes = new Set<number>();
        for (const edge of blockEdges) for (const v of edges[edge]!) nodes.add(v);
        componentBlocks.push({ nodes: [...nodes], edges: blockEdges, top: parent.node });
      }
    }
    blocks.push(...rootAndOrder(componentBlocks, root));
  }
  return attachSelfEdges(blocks, edges);
}

/**
 * Blocks come out of the search children first, each closed at its topmost node (`top`). Reversed, every
 * block follows the block holding its top; the root's blocks hang from nothing but the first of them.
 */
function rootAndOrder(
  found: { nodes: number[]; edges: number[]; top: number }[],
  root: number,
): RootedBlock[] {
  const ordered = [...found].reverse();
  let rootTaken = false;
  return ordered.map(({ nodes, edges, top }) => {
    if (top === root && !rootTaken) {
      rootTaken = true;
      return { nodes, edges, parent: -1 };
    }
    return { nodes, edges, parent: top };
  });
}

function attachSelfEdges(
  blocks: RootedBlock[],
  edges: readonly (readonly [number, number])[],
): RootedBlock[] {
  const home = new Map<number, number>();
  blocks.forEach((block, b) => {
    for (const v of block.nodes) if (!home.has(v)) home.set(v, b);
  });
  const extra = blocks.map(() => [] as number[]);
  edges.forEach(([a, b], edge) => {
    if (a === b) extra[home.get(a)!]!.push(edge);
  });
  return blocks.map((block, b) => ({ ...block, edges: [...block.edges, ...extra[b]!] }));
}
