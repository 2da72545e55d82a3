import type { ScheduleKind } from '../schema/index.ts';

import type { Phase } from '../schema/vocabulary.ts';

/** A forward or backward pass of one microbatch on one stage. */
export type Pass = Phase;

/** Per-microbatch seconds of one pipeline stage, all of its model chunks together. */
export interface StageTimes {
  readonly forwardSec: number;
  readonly backwardSec: number;
}

export interface ScheduleInput {
  readonly kind: ScheduleKind;
  readonly stages: readonly StageTimes[];
  readonly microbatches: number;
  /** Model chunks per stage (interleaved 1F1B); 1 otherwise. */
  readonly virtualStages: number;
}

export interface ScheduleBar {
  readonly stage: number;
  readonly microbatch: number;
  /** Which of the stage's model chunks (0 unless interleaved). */
  readonly chunk: number;
  readonly pass: Pass;
  readonly startSec: number;
  readonly endSec: number;
}

interface Work {
  readonly chunk: number;
  readonly microbatch: number;
  readonly pass: Pass;
}

/**
 * Order of a stage's forward (or, with `reverseChunks`, backward) chunk passes in Megatron-LM's
 * interleaved schedule: microbatches in groups of `stages`, each group through chunk 0, then 1, …
 * A last, smaller group keeps the same shape.
 */
function chunkOrder(microbatches: number, stages: number, chunks: number, reverseChunks: boolean): Work[] {
  const out: Work[] = [];
  for (let first = 0; first < microbatches; first += stages) {
    const size = Math.min(stages, microbatches - first);
    for (let c = 0; c < chunks; c++) {
      const chunk = reverseChunks ? chunks - 1 - c : c;
      for (let m = first; m < first + size; m++) out.push({ chunk, microbatch: m, pass: 'forward' });
    }
  }
  return reverseChunks ? out.map((w) => ({ ...w, pass: 'backward' })) : out;
}

/** What stage `stage` runs, in order. Warm-up counts are Megatron-LM's (schedules.py). */
function stageOrder(input: ScheduleInput, stage: number): Work[] {
  const S = input.stages.length;
  const B = input.microbatches;
  const v = input.kind === 'interleaved' ? Math.max(1, input.virtualStages) : 1;
  const forwards = chunkOrder(B, S, v, false);
  const backwards = chunkOrder(B, S, v, true);
  if (input.kind === 'gpipe') return [...forwards, ...backwards];
  const warmup = Math.min(forwards.length, v === 1 ? S - stage - 1 : (S - stage - 1) * 2 + (v - 1) * S);
  const order = forwards.slice(0, warmup);
  for (let i = warmup; i < forwards.length; i++) order.push(forwards[i]!, backwards[i - warmup]!);
  order.push(...backwards.slice(forwards.length - warmup));
  return order;
}

/**
 * One training step as a list scheduler runs it: each stage takes its next pass as soon as the
 * pass it depends on has finished (a forward on the previous model chunk, a backward on the next
 * one and the same chunk's forward). Pipeline sends are inside the stage times already.
 */
export function simulateSchedule(input: ScheduleInput): ScheduleBar[] {
  const S = input.stages.length;
  const v = input.kind === 'interleaved' ? Math.max(1, input.virtualStages) : 1;
  const V = S * v;
  // The interleaved orders deadlock on a last, partial group of microbatches (Megatron-LM long
  // required whole groups): it is padded with empty microbatches that take no time and are not drawn.
  const B = v > 1 ? Math.ceil(input.microbatches / S) * S : input.microbatches;
  const real = (microbatch: number) => microbatch < input.microbatches;
  // End time of each (virtual stage, microbatch) pass; NaN until it has run.
  const forwardEnd = new Float64Array(V * B).fill(Number.NaN);
  const backwardEnd = new Float64Array(V * B).fill(Number.NaN);
  const orders = input.stages.map((_, s) => stageOrder({ ...input, microbatches: B }, s));
  const next = new Array<number>(S).fill(0);
  const free = new Array<number>(S).fill(0);
  const bars: ScheduleBar[] = [];
  let remaining = orders.reduce((n, o) => n + o.length, 0);
  while (remaining > 0) {
    let progressed = false;
    for (let s = 0; s < S; s++) {
      for (;;) {
        const work = orders[s]![next[s]!];
        if (work === undefined) break;
        const vs = work.chunk * S + s;
        const at = vs * B + work.microbatch;
        const ready =
          work.pass === 'forward'
            ? vs === 0
              ? 0
              : forwardEnd[at - B]!
            : Math.max(forwardEnd[at]!, vs === V - 1 ? 0 : backwardEnd[at + B]!);
        if (Number.isNaN(ready)) break;
        const times = input.stages[s]!;
        const startSec = Math.max(free[s]!, ready);
        const sec = real(work.microbatch)
          ? (work.pass === 'forward' ? times.forwardSec : times.backwardSec) / v
          : 0;
        const endSec = startSec + sec;
        (work.pass === 'forward' ? forwardEnd : backwardEnd)[at] = endSec;
        free[s] = endSec;
        if (real(work.microbatch)) {
          const { microbatch, chunk, pass } = work;
          bars.push({ stage: s, microbatch, chunk, pass, startSec, endSec });
        }
        next[s]!++;
        remaining--;
        progressed = true;
      }
    }
    // Every order above is deadlock-free; getting stuck means a bug in them, not a plan to draw.
    if (!progressed) throw new Error(`schedule ${input.kind} deadlocked with ${remaining} passes left`);
  }
  return bars;
}
