import { z } from 'zod';
import { CalibrationProfile } from './cluster.ts';
import { PlanRequest } from './request.ts';

const stepTimeSec = z
  .number({ error: 'a measured step time is required: a positive number of seconds' })
  .positive()
  .finite();

export const MeasuredRun = z
  .object({
    /** A name for the residuals table; default `runs[i]`. */
    name: z.string().min(1).max(200).optional(),
    /** An estimate request with the run's parallel configuration pinned (tp, pp, dp, microBatch …). */
    request: PlanRequest,
    measured: z
      .object({
        /** Wall time of one optimizer step, seconds. */
        stepTimeSec,
        /** Peak allocated memory per GPU, GiB: checked against the estimate, not fitted. */
        peakMemoryGiB: z.number().positive().finite().optional(),
      })
      .strict(),
  })
  .strict();
export type MeasuredRun = z.infer<typeof MeasuredRun>;

/** `meshplan calibrate MEASURED.json` and `POST /v1/calibrations`: measured runs of one cluster. */
export const CalibrationRequest = z
  .object({ runs: z.array(MeasuredRun).min(1, 'at least one measured run is needed').max(200) })
  .strict();
export type CalibrationRequest = z.infer<typeof CalibrationRequest>;

export const CalibrationCreated = z.object({ id: z.string(), profile: CalibrationProfile });
export type CalibrationCreated = z.infer<typeof CalibrationCreated>;
