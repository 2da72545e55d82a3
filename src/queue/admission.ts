/**
 * What the queue accepts: a request its job could plan. Callers check at submit (the API answers a
 * 400 naming the field) so bad input never becomes a failed job; the planner's own checks decide,
 * so the two cannot drift apart.
 */
export {
  checkModel as admitModel,
  checkPlannable as admitPlanRequest,
  validatePlanRequest,
} from '../planner/request.ts';
