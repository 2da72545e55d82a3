/**
 * The port of DeepSpeed's stage partitioning against three oracles: what DeepSpeed v0.16.4's own
 * functions returned (test/fixtures/deepspeed-partitions.json, recorded by
 * scripts/deepspeed-partitions.py, heuristic cases and ties included); an exhaustive recursion
 * with DeepSpeed's objective and tie rule, summing slices; and a brute force over every cut, which
 * shows the partition is the least-spread one on the layer lists meshplan names.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { partitionBalanced, partitionUniform } from '../../src/frameworks/deepspeed/partition.ts';

interface Recorded {
  readonly uniform: readonly { items: number; parts: number; result: number[] }[];
  readonly balanced: readonly { weights: number[]; parts: number; result: number[] }[];
}

const recorded: Recorded = JSON.parse(
  readFileSync(new URL('../fixtures/deepspeed-partitions.json', import.meta.url), 'utf8'),
);

const sum = (w: readonly number[], from: number, to: number) => w.slice(from, to).reduce((a, b) => a + b, 0);

/** Part weights of boundaries `b` over `w`. */
const partWeights = (w: readonly number[], b: readonly number[]) =>
  b.slice(1).map((end, i) => sum(w, b[i]!, end));

const spread = (w: readonly number[], b: readonly number[]) => {
  const parts = partWeights(w, b);
  return Math.max(...parts) - Math.min(...parts);
};

/** Every way to cut `n` items into `m` non-empty parts, as boundaries. */
function* allCuts(n: number, m: number, from = 0, acc: number[] = [0]): Generator<number[]> {
  if (m === 1) {
    yield [...acc, n];
    return;
  }
  for (let k = from + 1; k <= n - m + 1; k++) yield* allCuts(n, m - 1, k, [...acc, k]);
}

interface Choice {
  readonly bounds: readonly number[];
  readonly max: number;
  readonly min: number;
}

/**
 * DeepSpeed's rule, stated recursively: the first i items in j parts are the best first-k split in
 * j − 1 parts plus [k, i), for the k whose max − min over the parts is least, the largest k on ties.
 */
function deepspeedRule(w: readonly number[], i: number, j: number): Choice {
  if (j === 1) return { bounds: [0, i], max: sum(w, 0, i), min: sum(w, 0, i) };
  let best: (Choice & { cost: number }) | null = null;
  for (let k = j - 1; k < i; k++) {
    const prev = deepspeedRule(w, k, j - 1);
    const last = sum(w, k, i);
    const max = Math.max(prev.max, last);
    const min = Math.min(prev.min, last);
    if (best === null || max - min <= best.cost) {
      best = { bounds: [...prev.bounds, i], max, min, cost: max - min };
    }
  }
  return best!;
}

describe('partition_uniform', () => {
  it("returns what DeepSpeed's own function returned, case for case", () => {
    for (const c of recorded.uniform) expect(partitionUniform(c.items, c.parts)).toEqual(c.result);
  });

  it('gives every part floor or ceil of items/parts, the larger ones first (closed form)', () => {
    for (let items = 1; items <= 40; items++) {
      for (let parts = 1; parts <= Math.min(items, 9); parts++) {
        const sizes = partWeights(Array(items).fill(1), partitionUniform(items, parts));
        const small = Math.floor(items / parts);
        expect(sizes).toEqual(sizes.map((_, p) => small + (p < items % parts ? 1 : 0)));
      }
    }
  });
});

describe('partition_balanced', () => {
  it("returns what DeepSpeed's own function returned, ties and heuristic misses included", () => {
    for (const c of recorded.balanced) expect(partitionBalanced(c.weights, c.parts)).toEqual(c.result);
  });

  it('follows DeepSpeed’s objective and tie rule (exhaustive recursion) on small random weights', () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let trial = 0; trial < 300; trial++) {
      const n = 2 + Math.floor(random() * 8);
      const m = 2 + Math.floor(random() * Math.min(4, n - 1));
      const w = Array.from({ length: n }, () => Math.floor(random() * 7));
      expect(partitionBalanced(w, m)).toEqual(deepspeedRule(w, n, m).bounds);
    }
  });

  it('is the least-spread cut of the layer lists meshplan names (brute force over every cut)', () => {
    for (let blocks = 1; blocks <= 10; blocks++) {
      const lists = [
        [0, ...Array(blocks).fill(1), 0, 0], // type:TransformerBlock
        [1300, ...Array(blocks).fill(860), 1, 1300], // parameters, untied (embedding, blocks, norm, head)
        [650, ...Array(blocks).fill(1800), 2, 650], // parameters, tied: the head counts the table again
      ];
      for (const w of lists) {
        for (let m = 2; m <= Math.min(5, w.length); m++) {
          const got = partitionBalanced(w, m);
          const least = Math.min(...[...allCuts(w.length, m)].map((b) => spread(w, b)));
          expect(spread(w, got)).toBe(least);
          expect(got).toEqual(deepspeedRule(w, w.length, m).bounds);
        }
      }
    }
  });
});
