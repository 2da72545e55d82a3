/** The plan viewer: self-contained HTML pages (inline CSS, SVG and script) rendered by pure functions. */
export { renderJobStatusPage } from './job-page.ts';
export { PAGE_CONTENT_SECURITY_POLICY } from './page-shell.ts';
export { type PlanPageJob, renderPlanPage } from './plan-page.ts';
export { renderSweepPage, type SweepPageOptions } from './sweep-page.ts';
