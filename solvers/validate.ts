/**
 * Structural validation of an IlpProblem. The solvers may receive problems that never went through zod
 * (benchmarks, worker messages), so they check shapes and numbers themselves and name the exact path.
 */
import { InvalidProblemError } from './errors.ts';
import type { IlpProblem } from './problem.ts';

/** Costs may be +Infinity ("forbidden"); everything else must be a finite, non-negative number. */
function checkCost(value: unknown, path: string): void {
  if (typeof value !== 'number' || Number.isNaN(value)) throw new InvalidProblemError(path, 'not a number');
  if (value < 0) throw new InvalidProblemError(path, `negative cost ${value}`);
}

function checkFiniteNonNegative(value: unknown, path: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new InvalidProblemError(path, 'not a finite number');
  }
  if (value < 0) throw new InvalidProblemError(path, `negative value ${value}`);
}

function checkArray(value: unknown, path: string): asserts value is readonly unknown[] {
  if (!Array.isArray(value)) throw new InvalidProblemError(path, 'not an array');
}

function checkNodeIndex(value: unknown, nodeCount: number, path: string): asserts value is number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value >= nodeCount) {
    throw new InvalidProblemError(path, `not a node index in [0, ${nodeCount})`);
  }
}

/** Throws InvalidProblemError (with `path`, e.g. `nodes[3].memory[1]`) on the first malformed value. */
export function validateProblem(problem: IlpProblem): void {
  checkArray(problem.nodes, 'nodes');
  checkArray(problem.edges, 'edges');
  problem.nodes.forEach((node, v) => {
    checkArray(node.cost, `nodes[${v}].cost`);
    checkArray(node.memory, `nodes[${v}].memory`);
    if (node.cost.length === 0) throw new InvalidProblemError(`nodes[${v}].cost`, 'a node needs a strategy');
    if (node.memory.length !== node.cost.length) {
      throw new InvalidProblemError(
        `nodes[${v}].memory`,
        `has ${node.memory.length} entries, cost has ${node.cost.length}`,
      );
    }
    node.cost.forEach((c, k) => {
      checkCost(c, `nodes[${v}].cost[${k}]`);
    });
    node.memory.forEach((m, k) => {
      checkFiniteNonNegative(m, `nodes[${v}].memory[${k}]`);
    });
  });
  problem.edges.forEach((edge, i) => {
    checkNodeIndex(edge.from, problem.nodes.length, `edges[${i}].from`);
    checkNodeIndex(edge.to, problem.nodes.length, `edges[${i}].to`);
    const rows = problem.nodes[edge.from]!.cost.length;
    const cols = problem.nodes[edge.to]!.cost.length;
    checkArray(edge.cost, `edges[${i}].cost`);
    if (edge.cost.length !== rows) {
      throw new InvalidProblemError(
        `edges[${i}].cost`,
        `has ${edge.cost.length} rows, node ${edge.from} has ${rows} strategies`,
      );
    }
    edge.cost.forEach((row, k) => {
      checkArray(row, `edges[${i}].cost[${k}]`);
      if (row.length !== cols) {
        throw new InvalidProblemError(
          `edges[${i}].cost[${k}]`,
          `has ${row.length} columns, node ${edge.to} has ${cols} strategies`,
        );
      }
      row.forEach((c, l) => {
        checkCost(c, `edges[${i}].cost[${k}][${l}]`);
      });
    });
  });
  if (problem.memoryBudget !== null) checkFiniteNonNegative(problem.memoryBudget, 'memoryBudget');
  const limit = problem.timeLimitSec;
  if (typeof limit !== 'number' || Number.isNaN(limit) || limit <= 0) {
    throw new InvalidProblemError('timeLimitSec', 'must be a positive number of seconds');
  }
}
