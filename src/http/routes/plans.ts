import type { FastifyInstance } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { withStoredProfile } from '../../queue/calibrations.ts';
import { planJobId } from '../../queue/canonical.ts';
import { isFinalStatus, type PlanJob, PlanJob as PlanJobSchema, PlanRequest } from '../../schema/index.ts';
import { assertOwnership, loadOwned, security } from '../auth.ts';
import { FinishedJobs } from '../finished-jobs.ts';
import { checkPlanRequest, checkWait } from '../limits.ts';
import { NotFoundError } from '../problem.ts';
import { JobIdParams, jsonResponse, PlanAccepted, problemResponses, SubmitPlanQuery } from '../schemas.ts';

export interface PlanRoutesOptions {
  /** A human-facing page per job, `{id}` replaced by the job id (e.g. a dashboard); none when absent. */
  readonly viewUrlTemplate?: string;
}

function planPath(id: string): string {
  return `/v1/plans/${encodeURIComponent(id)}`;
}

/** The latest state of the job after waiting up to `waitSec`; a server shutdown ends the wait early. */
async function waitForJob(app: FastifyInstance, job: PlanJob, waitSec: number): Promise<PlanJob> {
  if (waitSec <= 0 || isFinalStatus(job.status) || app.closing.aborted) return job;
  let stopWaiting = (): void => {};
  const closing = new Promise<null>((resolve) => {
    stopWaiting = () => resolve(null);
  });
  app.closing.addEventListener('abort', stopWaiting, { once: true });
  try {
    const finished = await Promise.race([app.queue.waitFor(job.id, waitSec * 1000), closing]);
    // Cut short by the shutdown: the job as it is now, or as submitted if the store does not answer.
    return finished ?? (await app.queue.get(job.id).catch(() => null)) ?? job;
  } finally {
    // One listener per long-poll would otherwise pile up on the app-wide signal.
    app.closing.removeEventListener('abort', stopWaiting);
  }
}

const JSON_TYPE = 'application/json; charset=utf-8';

export const planRoutes: FastifyPluginAsyncZod<PlanRoutesOptions> = async (app, options) => {
  const finished = new FinishedJobs();
  const exists = async (id: string) => finished.get(id) !== undefined || (await app.queue.get(id)) !== null;
  const accepted = (job: PlanJob): PlanAccepted => {
    const view = options.viewUrlTemplate?.replaceAll('{id}', encodeURIComponent(job.id));
    return {
      id: job.id,
      status: job.status,
      links: { self: planPath(job.id), ...(view === undefined ? {} : { view }) },
    };
  };

  app.post(
    '/plans',
    {
      schema: {
        tags: ['plans'],
        summary: 'Submit a planning job',
        description:
          'Queues a search for the best parallel plan. A request identical to one already known (same canonical JSON) returns that job with 200 instead of queueing another. With `wait`, the call holds until the job finishes (up to the given seconds) and returns it inline.',
        security,
        body: PlanRequest,
        querystring: SubmitPlanQuery,
        response: {
          200: jsonResponse(
            'The job, when an identical request already had one or it finished within `wait`',
            PlanJobSchema,
          ),
          202: jsonResponse('Queued: poll `links.self`', PlanAccepted),
          ...problemResponses(400, 401, 413, 429, 503),
        },
      },
    },
    async (request, reply) => {
      const waitSec = checkWait(request.query.wait, app.limits);
      // A stored calibration named by id travels with the job, so a worker anywhere prices with it.
      const body = await withStoredProfile(request.body, app.profiles);
      // A request whose plan is already known is answered without touching the queue.
      const known = finished.get(planJobId(body, request.principal));
      if (known !== undefined) {
        app.metrics.submissions.inc({ kind: 'plan', outcome: 'deduplicated' });
        return reply
          .code(200)
          .type(JSON_TYPE)
          .send(known as never);
      }
      // A bad cluster (an unknown GPU) or graph (a cycle) is a 400 now rather than a failed job later;
      // the body itself was validated against PlanRequest on the way in.
      checkPlanRequest(body, app.limits);
      const { job, created } = await app.queue.submit(body, request.principal);
      app.metrics.submissions.inc({ kind: 'plan', outcome: created ? 'created' : 'deduplicated' });
      const latest = await waitForJob(app, job, waitSec);
      if (!created || isFinalStatus(latest.status)) {
        const cached = finished.get(latest.id);
        if (cached !== undefined)
          // A string goes out as is: fastify skips the response serializer for it.
          return reply
            .code(200)
            .type(JSON_TYPE)
            .send(cached as never);
        finished.remember(latest);
        return reply.code(200).send(latest);
      }
      return reply.code(202).header('location', planPath(latest.id)).send(accepted(latest));
    },
  );

  app.get(
    '/plans/:id',
    {
      schema: {
        tags: ['plans'],
        summary: 'Get a planning job',
        description: 'Status, progress (phase and fraction), and the plan or the error once it finished.',
        security,
        params: JobIdParams,
        response: {
          200: jsonResponse('The job', PlanJobSchema),
          ...problemResponses(400, 401, 403, 404, 429),
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const job = await loadOwned(request, 'plan', id, async () => finished.get(id) ?? app.queue.get(id));
      if (typeof job === 'string') return reply.type(JSON_TYPE).send(job as never);
      // The first answer goes through the response schema; later ones reuse its JSON.
      finished.remember(job);
      return reply.send(job);
    },
  );

  app.delete(
    '/plans/:id',
    {
      schema: {
        tags: ['plans'],
        summary: 'Cancel a planning job',
        description:
          'Cancels a queued job or aborts a running one, and returns the job. A finished job is returned unchanged.',
        security,
        params: JobIdParams,
        response: {
          200: jsonResponse('The job after cancelling', PlanJobSchema),
          ...problemResponses(400, 401, 403, 404, 429),
        },
      },
    },
    async (request, reply) => {
      await assertOwnership(request, 'plan', request.params.id, async () => exists(request.params.id));
      const job = await app.queue.cancel(request.params.id);
      if (job === null) throw new NotFoundError('plan', request.params.id);
      return reply.send(job);
    },
  );
};
