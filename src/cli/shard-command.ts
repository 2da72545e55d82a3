import type { Command } from 'commander';
import type { BackendChoice } from '../../solvers/problem.ts';
import { positiveNumber } from './arg-parsers.ts';
import { formatIntraOpPlan } from './format.ts';
import { loadJsonFile } from './io.ts';
import { backendOption } from './solve-ilp-command.ts';

interface ShardOptions {
  graph: string;
  cluster: string;
  mesh: string;
  memoryBudgetGib?: number;
  timeLimitSec: number;
  backend: BackendChoice;
  json?: boolean;
}

/** `meshplan shard --graph G --cluster C --mesh AxB`: the intra-op plan of one graph on one mesh. */
export function registerShardCommand(program: Command): Command {
  return program
    .command('shard')
    .description(
      'intra-op plan of a whole graph on one logical mesh: per-op strategies, specs, collectives, memory',
    )
    .requiredOption('--graph <file>', 'operator graph JSON')
    .requiredOption('--cluster <file>', 'cluster JSON')
    .requiredOption('--mesh <AxB>', 'logical mesh shape, e.g. 2x4 (axis 0 spans nodes first)')
    .option('--memory-budget-gib <gib>', 'per-device memory budget in GiB', positiveNumber)
    .option('--time-limit-sec <sec>', 'solver time limit', positiveNumber, 30)
    .addOption(backendOption())
    .option('--json', 'print the plan as JSON')
    .action(async (opts: ShardOptions) => {
      const [{ parseGraph }, { parseCluster }, { logicalMesh, parseMeshShape }, { shardGraph }] =
        await Promise.all([
          import('../graph/index.ts'),
          import('../cluster/index.ts'),
          import('../cluster/mesh.ts'),
          import('../planner/shard.ts'),
        ]);
      const graph = await loadJsonFile(opts.graph, 'graph', parseGraph);
      const cluster = await loadJsonFile(opts.cluster, 'cluster', parseCluster);
      const mesh = logicalMesh(cluster, parseMeshShape(opts.mesh));
      const plan = await shardGraph({
        graph,
        cluster,
        mesh,
        memoryBudgetBytes: opts.memoryBudgetGib === undefined ? null : opts.memoryBudgetGib * 2 ** 30,
        timeLimitSec: opts.timeLimitSec,
        backend: opts.backend,
      });
      process.stdout.write(opts.json ? `${JSON.stringify(plan, null, 2)}\n` : `${formatIntraOpPlan(plan)}\n`);
    });
}
