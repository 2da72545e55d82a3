import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { JobStatus } from '../../schema/index.ts';
import { defaultFrontierAxes, sweepFrontier } from '../../sweep/frontier.ts';
import {
  PAGE_CONTENT_SECURITY_POLICY,
  renderJobStatusPage,
  renderPlanPage,
  renderSweepPage,
} from '../../view/index.ts';
import { loadOwned, security } from '../auth.ts';
import { JobIdParams, problemResponses, textResponse } from '../schemas.ts';

const HTML_TYPE = 'text/html; charset=utf-8';
/** The page's own policy (it also carries it as a <meta>), plus what only a header can say. */
const VIEW_CSP = `${PAGE_CONTENT_SECURITY_POLICY}; frame-ancestors 'none'`;
const SWEEP_REFRESH_SEC = 5;
const UNFINISHED: ReadonlySet<JobStatus> = new Set(['queued', 'running']);

/** A page route's schema: documented like the JSON routes, so proxies and clients know it answers HTML. */
function pageSchema(tag: string, summary: string, description: string) {
  return {
    tags: [tag],
    summary,
    description,
    security,
    params: JobIdParams,
    response: {
      200: textResponse('An HTML page', 'text/html'),
      ...problemResponses(400, 401, 403, 404, 429),
    },
  };
}

/**
 * Human-facing pages: `GET …/plans/:id/view` and `GET …/sweeps/:id/view`. Register inside the /v1
 * scope next to the JSON routes. Each sets its own Content-Security-Policy (replacing helmet's
 * app-wide one, which would block the page's inline script and style): it allows exactly those, by
 * hash.
 */
export const viewRoutes: FastifyPluginAsyncZod = async (app) => {
  const planPage = pageSchema(
    'plans',
    'View a planning job',
    "A page for people: the plan's stages, meshes and layouts once it succeeded, else the job's status.",
  );
  app.get('/plans/:id/view', { schema: planPage }, async (request, reply) => {
    // A page shows everything the JSON does, so it is scoped to the caller's key the same way.
    const { id } = request.params;
    const job = await loadOwned(request, 'plan', id, () => app.queue.get(id));
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

  const sweepPage = pageSchema(
    'sweeps',
    'View a sweep',
    'A page for people: one row per grid point, each linking to its plan; it refreshes itself until every point finished.',
  );
  app.get('/sweeps/:id/view', { schema: sweepPage }, async (request, reply) => {
    const { id } = request.params;
    const sweep = await loadOwned(request, 'sweep', id, () => app.queue.getSweep(id));
    const unfinished = sweep.rows.some((row) => UNFINISHED.has(row.status));
    const page = renderSweepPage(sweep, {
      // Relative, so the links hold under whatever prefix the routes are mounted at.
      planUrl: (jobId) => `../../plans/${encodeURIComponent(jobId)}/view`,
      frontier: sweepFrontier(sweep, defaultFrontierAxes(sweep.rows)),
      ...(unfinished ? { refreshSec: SWEEP_REFRESH_SEC } : {}),
    });
    return reply
      .type(HTML_TYPE)
      .header('content-security-policy', VIEW_CSP)
      .header('cache-control', 'no-store')
      .send(page);
  });
};
