import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { JobStatus } from '../../schema/index.ts';
import {
  PAGE_CONTENT_SECURITY_POLICY,
  renderJobStatusPage,
  renderPlanPage,
  renderSweepPage,
} from '../../view/index.ts';
import { assertOwnership } from '../auth.ts';
import { NotFoundError } from '../problem.ts';
import { JobIdParams } from '../schemas.ts';

const HTML_TYPE = 'text/html; charset=utf-8';
/** The page's own policy (it also carries it as a <meta>), plus what only a header can say. */
const VIEW_CSP = `${PAGE_CONTENT_SECURITY_POLICY}; frame-ancestors 'none'`;
const SWEEP_REFRESH_SEC = 5;
const UNFINISHED: ReadonlySet<JobStatus> = new Set(['queued', 'running']);

/**
 * Human-facing pages: `GET …/plans/:id/view` and `GET …/sweeps/:id/view`. Register inside the /v1
 * scope next to the JSON routes. Hidden from OpenAPI: they are for browsers, not API clients. Each
 * sets its own Content-Security-Policy (replacing helmet's app-wide one, which would block the
 * page's inline script and style): it allows exactly those, by hash.
 */
export const viewRoutes: FastifyPluginAsyncZod = async (app) => {
  app.get('/plans/:id/view', { schema: { hide: true, params: JobIdParams } }, async (request, reply) => {
    // A page shows everything the JSON does, so it is scoped to the caller's key the same way.
    const exists = async () => (await app.queue.get(request.params.id)) !== null;
    await assertOwnership(request, 'plan', request.params.id, exists);
    const job = await app.queue.get(request.params.id);
    if (job === null) throw new NotFoundError('plan', request.params.id);
    const page =
      job.status === 'succeeded' && job.plan !== null
        ? renderPlanPage({ id: job.id, plan: job.plan })
        : renderJobStatusPage(job);
    // An unfinished job's page changes; a finished plan never does.
    const cache = UNFINISHED.has(job.status) ? 'no-store' : 'private, max-age=60';
    return reply
      .type(HTML_TYPE)
      .header('content-security-policy', VIEW_CSP)
      .header('cache-control', cache)
      .send(page);
  });

  app.get('/sweeps/:id/view', { schema: { hide: true, params: JobIdParams } }, async (request, reply) => {
    const exists = async () => (await app.queue.getSweep(request.params.id)) !== null;
    await assertOwnership(request, 'sweep', request.params.id, exists);
    const sweep = await app.queue.getSweep(request.params.id);
    if (sweep === null) throw new NotFoundError('sweep', request.params.id);
    const unfinished = sweep.rows.some((row) => UNFINISHED.has(row.status));
    const page = renderSweepPage(sweep, {
      // Relative, so the links hold under whatever prefix the routes are mounted at.
      planUrl: (jobId) => `../../plans/${encodeURIComponent(jobId)}/view`,
      ...(unfinished ? { refreshSec: SWEEP_REFRESH_SEC } : {}),
    });
    return reply
      .type(HTML_TYPE)
      .header('content-security-policy', VIEW_CSP)
      .header('cache-control', 'no-store')
      .send(page);
  });
};
