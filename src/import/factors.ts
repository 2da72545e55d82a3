/**
 * Dims as factors. Every tensor dim an op reads or writes is a variable with a size; ops say which
 * are the same index (`same`) and reshapes which runs of dims hold the same elements in the same
 * order (`group`: [b·s, h] ≡ [b, s, n, d]). Solving splits variables into factors until both sides
 * of every group are the same factors, so a reshape becomes a relabelling: the q projection's output
 * dim of size h turns into (n, d) everywhere it flows, weights included, and the ILP may split the
 * heads of the projection as Megatron-LM does. A dim of size 1 has no factor.
 */
export class DimFactors {
  private readonly parent: number[] = [];
  private readonly sizes: number[] = [];
  /** A representative's split into smaller variables, in order (its product is its size). */
  private readonly children = new Map<number, number[]>();
  private readonly groups: { readonly left: number[]; readonly right: number[]; readonly what: string }[] =
    [];

  fresh(size: number): number {
    this.parent.push(this.parent.length);
    this.sizes.push(size);
    return this.parent.length - 1;
  }

  size(v: number): number {
    return this.sizes[v]!;
  }

  find(v: number): number {
    let r = v;
    while (this.parent[r] !== r) r = this.parent[r]!;
    while (this.parent[v] !== r) {
      const next = this.parent[v]!;
      this.parent[v] = r;
      v = next;
    }
    return r;
  }

  /** The two variables are one index (their sizes agree: the caller's shapes were checked). */
  same(a: number, b: number): void {
    const ra = this.find(a);
    const rb = this.find(b);
    if (ra === rb) return;
    this.parent[rb] = ra;
    const split = this.children.get(rb);
    if (split === undefined) return;
    this.children.delete(rb);
    if (this.children.has(ra)) this.groups.push({ left: [ra], right: split, what: 'merged dims' });
    else this.children.set(ra, split);
  }

  /** The dims `left` and `right` hold the same elements in the same (row-major) order. */
  group(left: readonly number[], right: readonly number[], what: string): void {
    this.groups.push({ left: [...left], right: [...right], what });
  }

  /** Leaf factors of a variable, in order; none for a size-1 dim. */
  leaves(v: number): number[] {
    const r = this.find(v);
    if (this.sizes[r] === 1) return [];
    const split = this.children.get(r);
    return split === undefined ? [r] : split.flatMap((c) => this.leaves(c));
  }

  /**
   * Splits and merges until every group's two sides are the same leaves. Returns the groups that
   * cannot be (a reshape that interleaves dims, [2, 3] → [3, 2]), by their description.
   */
  solve(): string[] {
    const failed = new Set<string>();
    for (let changed = true; changed; ) {
      changed = false;
      for (const g of this.groups) {
        if (failed.has(g.what)) continue;
        const outcome = this.align(g.left, g.right);
        if (outcome === 'failed') failed.add(g.what);
        else if (outcome === 'changed') changed = true;
      }
    }
    return [...failed];
  }

  private align(left: readonly number[], right: readonly number[]): 'changed' | 'done' | 'failed' {
    const l = left.flatMap((v) => this.leaves(v));
    const r = right.flatMap((v) => this.leaves(v));
    const cuts = (leaves: number[]) => {
      let p = 1;
      return leaves.map((v) => (p *= this.sizes[v]!));
    };
    const lc = cuts(l);
    const rc = cuts(r);
    if (lc.at(-1) !== rc.at(-1)) return 'failed';
    // Split any leaf that a boundary of the other side falls inside.
    for (const [leaves, own, other] of [
      [l, lc, rc],
      [r, rc, lc],
    ] as const) {
      for (let i = 0; i < leaves.length; i++) {
        const before = i === 0 ? 1 : own[i - 1]!;
        const inside = other.find((c) => c > before && c < own[i]!);
        if (inside === undefined) continue;
        const first = inside / before;
        const size = this.sizes[leaves[i]!]!;
        if (!Number.isInteger(first) || size % first !== 0) return 'failed';
        this.children.set(leaves[i]!, [this.fresh(first), this.fresh(size / first)]);
        return 'changed';
      }
    }
    let changed = false;
    l.forEach((v, i) => {
      if (this.find(v) !== this.find(r[i]!)) {
        this.same(v, r[i]!);
        changed = true;
      }
    });
    return changed ? 'changed' : 'done';
  }
}
