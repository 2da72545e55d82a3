/**
 * The parts of a Plan that do not need the planner: its stated assumptions and the answers given when
 * there is no plan or the search was cut short. Light on purpose: the job queue builds these answers in
 * the API and worker processes after it stops a planning thread, without loading the planner there.
 */
import type { Plan } from '../schema/index.ts';

/** The named modelling assumptions every plan states (DESIGN.md §4: overlap is a named term). */
export const ASSUMPTIONS: readonly string[] = [
  'Costs are analytic: roofline compute at the GPU catalog peak × efficiency, ring collectives α + β·bytes per mesh axis.',
  'Tensor-parallel collectives and resharding sit on the critical path, except each linear layer’s input-gradient reduction, which runs alongside its weight-gradient GEMM where the runtime launches it asynchronously (Megatron-LM; overlapInputGradientReduce), and the catalog’s tpOverlap share of the rest under overlapTensorParallelComm.',
  'Context-parallel key/value exchanges and expert-parallel all-to-alls are exposed, unless overlapExpertParallelComm hides the tpOverlap share of the all-to-alls behind another microbatch’s compute.',
  'Only the first stage’s data-parallel gradient reduction and optimizer step are exposed; later stages finish theirs while it runs its last backward passes.',
  'With overlapGradReduce (the default), data-parallel traffic hides layer by layer behind the pass it belongs to, leaving what exceeds the pass and at least one layer’s share: gradient reductions behind the backward, ZeRO-1/2’s parameter gather behind the next step’s first forward (where the framework prefetches it), ZeRO-3’s gathers behind each forward and backward.',
  'Data-parallel traffic goes as the framework sends it, each collective paying its ring’s latency: gradient reductions and ZeRO-1/2’s gathers in buckets (Megatron’s max(4e7, 1e6 · dp) elements by default, DeepSpeed’s 5e8), ZeRO-3 one collective per layer.',
  'ZeRO-3 also holds its largest layer whole at its peak: two copies of its weights (the running layer and the prefetched next) and its gradient.',
  'Pipeline sends are on the critical path once per microbatch and stage boundary (scatter/gather over the stage devices).',
  'Adam with mixed precision keeps 16 bytes per parameter (2 weight + 2 gradient + 12 fp32 state), ZeRO sharding the later terms; an FP8 GEMM’s weight keeps its FP8 copy and transpose (2 bytes) besides, which become the weight itself under fp8ParamGather (no bf16 copy).',
  'Activations are kept for the backward pass as Megatron-Core’s fused kernels keep them: a gated activation as one kernel keeping only the gate and up projections (model.activationFusion false: eager PyTorch’s, which keeps the SiLU output too), an MoE’s router weights applied inside the experts’ activation so that the combine keeps no expert output (model.moe.routerWeights "combine": on the experts’ outputs, which it keeps).',
  'Identical layers use one intra-op layout; the layout is optimised without recomputation and priced under the chosen mode.',
];

export type SolverInfo = Omit<Plan['solver'], 'status'>;

export const CUT_SHORT_REASON = 'the time limit stopped the search early; this is the best plan found';

/** The answer when no plan exists (`infeasible`) or none was found in time (`timeout`). */
export function unplannedPlan(
  status: 'infeasible' | 'timeout',
  reason: string,
  solver: SolverInfo,
  shortfallBytes: number | null = null,
): Plan {
  return {
    status,
    reason,
    ...(shortfallBytes !== null ? { shortfallBytes } : {}),
    summary: null,
    breakdown: null,
    stages: [],
    schedule: null,
    exports: null,
    alternatives: [],
    solver: { status, ...solver },
    assumptions: [...ASSUMPTIONS],
  };
}

export function timeLimitReason(timeLimitSec: number): string {
  return `no configuration was planned within the time limit (${timeLimitSec} s)`;
}

/** A best-so-far plan, stamped as what the search had when it was stopped after `wallSec`. */
export function cutShort(best: Plan, wallSec: number): Plan {
  return {
    ...best,
    status: 'feasible',
    reason: CUT_SHORT_REASON,
    solver: { ...best.solver, status: 'feasible', wallSec },
  };
}
