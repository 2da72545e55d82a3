/**
 * Context and expert parallelism as Megatron-LM core_v0.19.0 runs them: the world-size and
 * divisibility rules of `megatron/training/arguments.py` (validate_args) and parallel_state, the
 * MoE layer's and TransformerConfig's rules on expert degrees, and what Transformer Engine's
 * context-parallel attention (the only attention Megatron runs with cp > 1) needs.
 */
import { slidingWindowSize } from '../../model/dims.ts';
import type { RunShape } from '../framework.ts';

/** Every rank is in one tp × cp × pp × dp grid (validate_args derives dp as world / (tp·pp·cp)). */
function worldProblem(shape: RunShape): string | null {
  const { tp, cp, pp, dp, devices } = shape;
  return tp * cp * pp * dp === devices
    ? null
    : `tp ${tp} × cp ${cp} × pp ${pp} × dp ${dp} is not its ${devices} GPUs`;
}

/**
 * Context parallelism: validate_args cuts each sequence into 2·cp chunks (causal load balancing);
 * the attention is Transformer Engine's DotProductAttention with cp_group, which runs only on its
 * flash and fused backends; the all-to-all (Ulysses) exchange scatters the heads each tp rank
 * holds over cp ranks, so query and key/value heads per tp rank must split over cp.
 */
export function contextParallelProblems(shape: RunShape): (string | null)[] {
  const { model: m, cp, tp } = shape;
  if (m === null || cp === 1) return [];
  const problems: (string | null)[] = [
    m.seqLen % (2 * cp) !== 0
      ? `context parallelism cuts each ${m.seqLen}-token sequence into 2·cp = ${2 * cp} equal chunks (validate_args)`
      : null,
    m.flashAttention
      ? null
      : "context parallelism runs in Transformer Engine's flash or fused attention, not the unfused (eager) attention priced",
    // Transformer Engine v2.8 attn_forward_func_with_cp: "Context parallelism does not support
    // sliding window attention" unless cp_comm_type is a2a or all_gather.
    slidingWindowSize(m) !== null && shape.cpCommType === 'p2p'
      ? "Transformer Engine's context-parallel attention runs a sliding window only with the all-to-all or all-gather exchange (cpCommType a2a or allgather), not the p2p ring"
      : null,
  ];
  if (shape.cpCommType === 'a2a') {
    const kvHeads = m.mla === null ? m.kvHeads : m.heads;
    problems.push(
      (m.heads / tp) % cp !== 0 || kvHeads % tp !== 0 || (kvHeads / tp) % cp !== 0
        ? `the all-to-all context exchange (cp_comm_type a2a) splits each tp rank's ${m.heads / tp} query and ${Math.max(1, kvHeads / tp)} key/value heads over cp = ${cp}, which does not divide them`
        : null,
    );
  }
  return problems;
}

/**
 * Expert parallelism: ep ranks each hold experts / ep of every MoE layer (validate_args), each
 * expert split over etp ranks; parallel_state builds etp × ep × edp × pp expert groups over the
 * same world, so the expert-data-parallel size edp = tp·cp·dp / (etp·ep) must be whole.
 */
export function expertParallelProblems(shape: RunShape): (string | null)[] {
  const { model: m, ep, etp, tp, cp, dp } = shape;
  if (m === null || m.moe === null) {
    return [ep > 1 ? `expert parallelism (ep = ${ep}) needs a mixture of experts (validate_args)` : null];
  }
  const { moe } = m;
  const denseWays = tp * cp * dp;
  return [
    moe.experts % ep !== 0
      ? `its ${moe.experts} experts do not divide over ep = ${ep} (validate_args)`
      : null,
    denseWays % (etp * ep) !== 0
      ? `the expert groups etp ${etp} × ep ${ep} do not tile the tp·cp·dp = ${denseWays} ranks of a stage (expert data parallelism would not be whole)`
      : null,
    moe.ffnHidden % etp !== 0
      ? `each expert's FFN size ${moe.ffnHidden} does not divide over etp = ${etp}`
      : null,
    moe.sharedExperts > 0 && (moe.sharedExperts * moe.sharedFfnHidden) % tp !== 0
      ? `the shared experts' FFN size ${moe.sharedExperts * moe.sharedFfnHidden} does not divide over tp = ${tp}`
      : null,
    // TransformerConfig: "Flex token dispatcher with deepep backend does not support
    // moe_pad_expert_input_to_capacity", which routing with a capacity is exported with; HybridEP,
    // the backend exported, takes it, but drops past a per-rank budget in a way meshplan does not
    // price (token_dispatcher.py, moe_expert_rank_capacity_factor). Flex is planned dropless.
    ep > 1 && moe.dispatcher === 'flex' && !moe.dropless
      ? 'the flex token dispatcher is planned dropless (DeepEP cannot pad experts to a capacity; HybridEP drops past a per-rank budget, which meshplan does not price): plan it dropless'
      : null,
    // TransformerConfig: "Bias in Moe is only supported when ETP==1".
    m.bias && etp > 1
      ? `MoE layers with biases need expert tensor parallelism 1 ("Bias in Moe is only supported when ETP==1"), and the plan splits the experts over etp = ${etp}`
      : null,
  ];
}

/** The rules of both, with the world size. */
export function outerParallelProblems(shape: RunShape): (string | null)[] {
  return [worldProblem(shape), ...contextParallelProblems(shape), ...expertParallelProblems(shape)];
}
