import type { PlanJob } from '../schema/index.ts';
import { formatPercent } from './format.ts';
import { html } from './html.ts';
import { renderDocument } from './page-shell.ts';

/** How often the page of an unfinished job reloads itself. */
const PENDING_REFRESH_SEC = 3;

/**
 * The page of a job without a plan yet (queued, running) or without one ever (failed, cancelled).
 * An unfinished one reloads until the plan page replaces it.
 */
export function renderJobStatusPage(job: PlanJob): string {
  const pending = job.status === 'queued' || job.status === 'running';
  const detail = pending
    ? html`<p>The plan is being worked on: ${job.progress.phase} (${formatPercent(job.progress.fraction)}). This page reloads every ${PENDING_REFRESH_SEC} seconds and shows the plan once it is ready.</p>
<progress max="1" value="${job.progress.fraction}" aria-label="Planning progress">${formatPercent(job.progress.fraction)}</progress>`
    : html`<p class="explain">${job.error?.detail ?? job.error?.title ?? (job.status === 'cancelled' ? 'The job was cancelled.' : 'The job finished without a plan.')}</p>`;
  const body = html`<main data-job-status="${job.status}">
<h1>meshplan: job <code>${job.id}</code> <span class="status status-${job.status}">${job.status}</span></h1>
${detail}
</main>`;
  return renderDocument({
    title: `meshplan job ${job.id} (${job.status})`,
    body,
    ...(pending ? { refreshSec: PENDING_REFRESH_SEC } : {}),
  });
}
