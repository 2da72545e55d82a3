import { describe, expect, it } from 'vitest';
import { DimFactors } from '../../src/import/factors.ts';

const sizes = (f: DimFactors, vars: number[]) => vars.flatMap((v) => f.leaves(v)).map((a) => f.size(a));

describe('dims as factors', () => {
  it('turns a reshape into a relabelling: [b·s, n·d] ≡ [b, s, n, d] splits both merged dims', () => {
    const f = new DimFactors();
    const [bs, nd] = [f.fresh(2 * 64), f.fresh(4 * 32)];
    const [b, s, n, d] = [2, 64, 4, 32].map((x) => f.fresh(x)) as [number, number, number, number];
    f.group([bs, nd], [b, s, n, d], 'reshape');
    expect(f.solve()).toEqual([]);
    expect(f.leaves(bs)).toEqual([f.find(b), f.find(s)]);
    expect(f.leaves(nd)).toEqual([f.find(n), f.find(d)]);
  });

  it('carries a split along everything that is the same index (a weight feeding the reshaped output)', () => {
    const f = new DimFactors();
    const weightOut = f.fresh(128);
    const projOut = f.fresh(128);
    f.same(weightOut, projOut);
    const [n, d] = [f.fresh(4), f.fresh(32)];
    f.group([projOut], [n, d], 'view as heads');
    expect(f.solve()).toEqual([]);
    expect(sizes(f, [weightOut])).toEqual([4, 32]);
  });

  it('agrees however two reshapes of one dim are ordered (metamorphic)', () => {
    const run = (order: 0 | 1) => {
      const f = new DimFactors();
      const x = f.fresh(24);
      const a = [f.fresh(2), f.fresh(12)];
      const c = [f.fresh(6), f.fresh(4)];
      const groups = [() => f.group([x], a, 'a'), () => f.group([x], c, 'c')];
      groups[order]!();
      groups[1 - order]!();
      f.solve();
      return sizes(f, [x]);
    };
    expect(run(0)).toEqual([2, 3, 4]);
    expect(run(1)).toEqual([2, 3, 4]);
  });

  it('reports a reshape that interleaves dims instead of relabelling it', () => {
    const f = new DimFactors();
    f.group([f.fresh(2), f.fresh(3)], [f.fresh(3), f.fresh(2)], 'reshape [2, 3] → [3, 2]');
    expect(f.solve()).toEqual(['reshape [2, 3] → [3, 2]']);
  });
});
