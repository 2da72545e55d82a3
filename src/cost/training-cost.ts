/**
 * What a training run costs beyond one step (issue 18): days to train the requested tokens, and the
 * GPU-hours and dollars at a price per GPU-hour, for the whole training when the tokens are known
 * and for one step otherwise.
 */

const SEC_PER_DAY = 86_400;
const SEC_PER_HOUR = 3_600;

export interface TrainingCost {
  readonly trainingDays?: number;
  readonly gpuHours?: number;
  readonly costUsd?: number;
}

export function trainingCost(options: {
  readonly tokensPerSec: number;
  readonly stepTimeSec: number;
  readonly gpus: number;
  /** Tokens to train on in total. */
  readonly tokens: number | undefined;
  /** USD per GPU and hour. */
  readonly pricePerGpuHour: number | undefined;
}): TrainingCost {
  const o = options;
  const trainingSec = o.tokens === undefined ? undefined : o.tokens / o.tokensPerSec;
  const days = trainingSec === undefined ? {} : { trainingDays: trainingSec / SEC_PER_DAY };
  if (o.pricePerGpuHour === undefined) return days;
  const gpuHours = (o.gpus * (trainingSec ?? o.stepTimeSec)) / SEC_PER_HOUR;
  return { ...days, gpuHours, costUsd: gpuHours * o.pricePerGpuHour };
}
