/**
 * `POST /v1/calibrations` behind the HTTP layer: the fit (the planner's) with every estimate priced
 * by the caller's pricer — the API's estimate threads — and the profile stored.
 */
import { calibrateProfile } from '../planner/calibration/user-profile.ts';
import {
  type CalibrationCreated,
  type CalibrationProfile,
  InvalidInputError,
  type Plan,
  PlanRequest,
  parseOrThrow,
} from '../schema/index.ts';
import type { ProfileStore } from './profile-store.ts';

export type RequestPricer = (request: PlanRequest) => Promise<Plan>;

export async function createCalibration(
  body: unknown,
  price: RequestPricer,
  store: ProfileStore,
): Promise<CalibrationCreated> {
  const profile = await calibrateProfile(body, {
    price: (input) => price(parseOrThrow(PlanRequest, input, 'request')),
  });
  return { id: await store.save(profile), profile };
}

/**
 * The request with a stored profile in place of the id in `cluster.profile`; an unknown id is bad
 * input naming the field.
 */
export async function withStoredProfile(request: PlanRequest, store: ProfileStore): Promise<PlanRequest> {
  const id = request.cluster.profile;
  if (typeof id !== 'string') return request;
  const profile: CalibrationProfile | null = await store.load(id);
  if (profile === null) {
    throw new InvalidInputError(
      [
        {
          path: 'cluster.profile',
          message: `no calibration profile has id "${id}" (POST /v1/calibrations makes one)`,
        },
      ],
      'request',
    );
  }
  return { ...request, cluster: { ...request.cluster, profile } };
}
