/**
 * A plan's alternatives (issue 18): the Pareto set over (step time, peak memory per device) of the
 * configurations the search evaluated, TensorOpt's frontier of time against memory. The search hands
 * over every candidate it completes; pricing one for the frontier is a few stage prices, and only the
 * kept few are assembled into summaries, once, at the end.
 */
import type { Cluster } from '../cluster/cluster.ts';
import { pipelineStep, stagePeakBytes } from '../cost/step.ts';
import { type Alternative, dominates, type Summary } from '../schema/index.ts';
import { candidatePrices, scheduleKind } from './assemble.ts';
import type { Candidate } from './search.ts';

export const MAX_ALTERNATIVES = 16;

/** [step time in seconds, peak bytes per device]: both minimised. */
type Objectives = readonly [number, number];

interface Point {
  readonly candidate: Candidate;
  readonly objectives: Objectives;
}

const same = (a: Objectives, b: Objectives) => a[0] === b[0] && a[1] === b[1];

/** The plan alone: what a plan reports before its search has finished, and an estimate. */
export function onlyChosen(summary: Summary): Alternative[] {
  return [{ summary, chosen: true }];
}

export class AlternativesFrontier {
  private points: Point[] = [];

  constructor(private readonly cluster: Cluster) {}

  /**
   * A candidate as the search priced it: its own virtual stage count, so these are the figures its
   * summary will show. One with the figures of a kept one adds nothing and is dropped.
   */
  add(candidate: Candidate): void {
    const { microbatches, virtualStages } = candidate.config;
    const prices = candidatePrices(this.cluster, candidate);
    const objectives: Objectives = [
      pipelineStep(prices, microbatches, virtualStages).stepSec,
      Math.max(
        ...stagePeakBytes(prices, scheduleKind(candidate.config, virtualStages), microbatches, virtualStages),
      ),
    ];
    if (this.points.some((p) => dominates(p.objectives, objectives) || same(p.objectives, objectives)))
      return;
    this.points = this.points.filter((p) => !dominates(objectives, p.objectives));
    this.points.push({ candidate, objectives });
  }

  /**
   * The frontier with the chosen plan (as `summary` describes it: the plan may interleave) always in
   * it, fastest first. The search keeps the first of equally fast configurations, so a later one
   * with less memory could dominate the plan: the plan is the answer, so it stays and such a point
   * goes. Past MAX_ALTERNATIVES, the others are thinned evenly along the frontier, ends kept.
   */
  of(chosen: Candidate, summary: Summary, summarize: (candidate: Candidate) => Summary): Alternative[] {
    const plan: Objectives = [summary.stepTimeSec, summary.peakMemoryBytes];
    const others = this.points
      .filter(
        (p) =>
          p.candidate !== chosen &&
          !dominates(plan, p.objectives) &&
          !dominates(p.objectives, plan) &&
          !same(plan, p.objectives),
      )
      .sort((a, b) => a.objectives[0] - b.objectives[0]);
    const kept = evenlySpaced(others, MAX_ALTERNATIVES - 1);
    return [
      { summary, chosen: true },
      ...kept.map((p) => ({ summary: summarize(p.candidate), chosen: false })),
    ].sort((a, b) => a.summary.stepTimeSec - b.summary.stepTimeSec);
  }
}

/** At most `count` of `items` (count ≥ 2), evenly spaced by index, first and last included, in order. */
export function evenlySpaced<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  return Array.from({ length: count }, (_, i) => items[Math.round((i * (items.length - 1)) / (count - 1))]!);
}
