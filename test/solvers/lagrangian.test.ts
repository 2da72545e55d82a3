/**
 * The Lagrangian relaxation of the memory budget and the min-sum pass beneath it, against brute force on
 * small random problems: the bound never exceeds the optimum, the incumbent fits and never beats it, a
 * proven incumbent is the optimum; min-sum's minimum and outside tables equal enumeration.
 */
import { describe, expect, it } from 'vitest';
import { solveByElimination } from '../../solvers/elimination.ts';
import { eliminationOrder } from '../../solvers/elimination-order.ts';
import { eliminationSteps } from '../../solvers/elimination-steps.ts';
import { lagrangianBound } from '../../solvers/lagrangian.ts';
import { minSum, originalScopes } from '../../solvers/min-sum.ts';
import type { IlpProblem } from '../../solvers/problem.ts';
import { randomProblem } from '../../solvers/random.ts';
import { bruteForce, costOf, sameObjective } from './oracle.ts';

function stepsOf(problem: IlpProblem) {
  const sizes = problem.nodes.map((n) => n.cost.length);
  const pairs = problem.edges.filter((e) => e.from !== e.to).map((e) => [e.from, e.to] as const);
  const order = eliminationOrder(sizes, pairs, 1e9)!;
  return eliminationSteps(originalScopes(problem), order.order);
}

/** Every choice of `problem`, by odometer. */
function* allChoices(problem: IlpProblem): Generator<number[]> {
  const choice = problem.nodes.map(() => 0);
  for (;;) {
    yield [...choice];
    let v = 0;
    while (v < choice.length && ++choice[v]! === problem.nodes[v]!.cost.length) choice[v++] = 0;
    if (v === choice.length) return;
  }
}

const shapes = ['dag', 'chain', 'residual'] as const;
const budgets = [0.05, 0.15, 0.3, 0.5, 0.8] as const;
const cases = Array.from({ length: 150 }, (_, seed) =>
  randomProblem({
    seed: 1000 + seed,
    nodes: 2 + (seed % 6),
    strategies: [1, 4],
    shape: shapes[seed % shapes.length]!,
    edgeProbability: 0.3 + (seed % 4) * 0.15,
    budget: budgets[seed % budgets.length]!,
    integerCosts: seed % 4 === 1,
  }),
);

describe('min-sum elimination of cost + λ·memory', () => {
  it('finds the enumerated minimum and an argmin that attains it', () => {
    for (const [i, problem] of cases.entries()) {
      const lambda = (i % 5) * 1e-3;
      let least = Number.POSITIVE_INFINITY;
      for (const choice of allChoices(problem)) {
        const { objective, memory } = costOf(problem, choice);
        least = Math.min(least, objective + lambda * memory);
      }
      const result = minSum(problem, stepsOf(problem), lambda, false);
      expect(sameObjective(result.value, least), `case ${i}`).toBe(true);
      const { objective, memory } = costOf(problem, result.choice!);
      expect(sameObjective(objective + lambda * memory, least), `case ${i} argmin`).toBe(true);
    }
  });

  it('has inside + outside of every table entry equal to the enumerated minimum over choices through it', () => {
    for (const [i, problem] of cases.slice(0, 60).entries()) {
      const lambda = 2e-3;
      const steps = stepsOf(problem);
      const result = minSum(problem, steps, lambda, true);
      const original = originalScopes(problem).length;
      const sizes = problem.nodes.map((n) => n.cost.length);
      steps.forEach((step, s) => {
        const table = result.inside[original + s]!;
        for (let entry = 0; entry < table.length; entry++) {
          // The oracle: the least cost + λ·memory over every choice that agrees with this entry.
          let least = Number.POSITIVE_INFINITY;
          for (const choice of allChoices(problem)) {
            let index = 0;
            for (const v of step.scope) index = index * sizes[v]! + choice[v]!;
            if (index !== entry) continue;
            const { objective, memory } = costOf(problem, choice);
            least = Math.min(least, objective + lambda * memory);
          }
          const through = table[entry]! + result.outside![s]![entry]!;
          expect(sameObjective(through, least), `case ${i} step ${s} entry ${entry}`).toBe(true);
        }
      });
    }
  });
});

describe('lagrangianBound', () => {
  it('bounds the optimum from below, its incumbent fits and is no better, and a proof is the optimum', () => {
    let proofs = 0;
    for (const [i, problem] of cases.entries()) {
      const oracle = bruteForce(problem);
      const bound = lagrangianBound(problem, stepsOf(problem));
      if (oracle.objective === null) {
        // Over budget whatever the choice: no incumbent can exist.
        expect(bound?.incumbent ?? null, `case ${i}`).toBeNull();
        continue;
      }
      expect(bound, `case ${i}`).not.toBeNull();
      const optimum = oracle.objective;
      expect(bound!.lowerBound, `case ${i}`).toBeLessThanOrEqual(optimum + 1e-9 * Math.abs(optimum));
      const incumbent = bound!.incumbent!;
      const { objective, memory } = costOf(problem, incumbent.choice);
      expect(memory, `case ${i}`).toBeLessThanOrEqual(problem.memoryBudget!);
      expect(sameObjective(objective, incumbent.objective), `case ${i}`).toBe(true);
      expect(objective, `case ${i}`).toBeGreaterThanOrEqual(optimum - 1e-9 * Math.abs(optimum));
      if (bound!.proven) {
        proofs++;
        expect(sameObjective(objective, optimum), `case ${i}`).toBe(true);
      }
    }
    // Not a tautology of the generator: some budgets bind with a gap, some are closed by the bound.
    expect(proofs).toBeGreaterThan(0);
    expect(proofs).toBeLessThan(cases.length);
  });
});

describe('the budgeted DP with Lagrangian pruning', () => {
  it('equals brute force where the bound leaves a gap, so that the pruning is what is tested', () => {
    let gaps = 0;
    for (let seed = 0; seed < 24; seed++) {
      const problem = randomProblem({
        seed: 5000 + seed,
        nodes: 9,
        strategies: 4,
        shape: shapes[seed % shapes.length]!,
        edgeProbability: 0.4,
        budget: budgets[seed % budgets.length]!,
        integerCosts: seed % 3 === 0,
      });
      const oracle = bruteForce(problem);
      const outcome = solveByElimination(problem);
      if (!outcome.applicable) throw new Error(`seed ${seed}: ${outcome.reason}`);
      if (outcome.bound !== null && !outcome.bound.proven) gaps++;
      if (oracle.objective === null) {
        expect(outcome.answer.status, `seed ${seed}`).toBe('infeasible');
        continue;
      }
      expect(outcome.answer.status, `seed ${seed}`).toBe('optimal');
      const choice = outcome.answer.selection!.map((row) => row.indexOf(1));
      const { objective, memory } = costOf(problem, choice);
      expect(memory, `seed ${seed}`).toBeLessThanOrEqual(problem.memoryBudget!);
      expect(sameObjective(objective, oracle.objective), `seed ${seed}`).toBe(true);
    }
    expect(gaps).toBeGreaterThan(3);
  });
});
