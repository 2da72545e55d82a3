import type { DimSpec } from '../schema/vocabulary.ts';

/**
 * How a tensor lies on a 2-D logical mesh, one entry per mesh axis: the index of the tensor dim that
 * axis splits, 'R' (replicated along it) or 'P' (partial: awaiting a sum over it). This is the
 * mesh-axis view of DESIGN.md's per-dim tensor spec; `tensorSpec` converts between the two.
 */
export type AxisLayout = number | 'R' | 'P';
export type Layout = readonly [AxisLayout, AxisLayout];

export function tensorSpec(layout: Layout, rank: number): DimSpec[] {
  const spec: DimSpec[] = [];
  for (let d = 0; d < rank; d++) {
    const on0 = layout[0] === d;
    const on1 = layout[1] === d;
    spec.push(on0 && on1 ? 'S01' : on0 ? 'S0' : on1 ? 'S1' : 'R');
  }
  return spec;
}

export function partialAxes(layout: Layout): number[] {
  return [0, 1].filter((j) => layout[j] === 'P');
}

/** How many ways the layout divides the tensor: the product of the axes that split a dim. */
export function shardCount(layout: Layout, axisSizes: readonly [number, number]): number {
  return (
    (typeof layout[0] === 'number' ? axisSizes[0] : 1) * (typeof layout[1] === 'number' ? axisSizes[1] : 1)
  );
}
