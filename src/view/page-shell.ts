import { createHash } from 'node:crypto';
import { html, SafeHtml } from './html.ts';
import { PAGE_SCRIPT } from './page-script.ts';

const PAGE_STYLE = `
:root { color-scheme: light; --ink: #1a1a1a; --muted: #555; --rule: #d0d0d0; --panel: #f6f6f6; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1180px; padding: 1.5rem; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
h2 { font-size: 1.2rem; margin: 2rem 0 .5rem; border-bottom: 1px solid var(--rule); padding-bottom: .25rem; }
h3 { font-size: 1rem; margin: 1.25rem 0 .4rem; }
p, li { max-width: 80ch; }
.note { color: var(--muted); font-size: .9rem; }
.status { display: inline-block; padding: .05rem .5rem; border: 1px solid currentColor; border-radius: .25rem; font-size: .85rem; font-weight: 600; }
.status-infeasible, .status-failed, .status-cancelled { color: #a33a00; }
dl.metrics { display: grid; grid-template-columns: repeat(auto-fill, minmax(11rem, 1fr)); gap: .5rem; margin: 1rem 0; }
dl.metrics div { background: var(--panel); padding: .45rem .6rem; border-radius: .3rem; }
dl.metrics dt { font-size: .8rem; color: var(--muted); }
dl.metrics dd { margin: 0; font-weight: 600; font-variant-numeric: tabular-nums; }
figure { margin: .5rem 0 1rem; overflow-x: auto; }
figcaption { color: var(--muted); font-size: .9rem; margin-bottom: .35rem; }
svg { display: block; font: 11px system-ui, sans-serif; }
svg text { fill: var(--ink); }
svg .on-dark { fill: #fff; }
svg .grid { stroke: #e2e2e2; }
svg .axis { stroke: #777; }
svg .track { fill: #f3f3f3; }
svg .frame { fill: none; stroke: #777; }
svg a:focus-visible circle, svg a:hover circle { stroke: #000; stroke-width: 2.5; }
.legend { display: flex; flex-wrap: wrap; gap: .3rem 1rem; padding: 0; margin: .35rem 0; list-style: none; font-size: .9rem; }
.legend li { display: flex; align-items: center; gap: .35rem; }
.legend svg { display: inline-block; }
table { border-collapse: collapse; margin: .5rem 0 1rem; font-size: .88rem; font-variant-numeric: tabular-nums; }
th, td { border-bottom: 1px solid var(--rule); padding: .25rem .55rem; text-align: left; vertical-align: top; }
td.num, th.num { text-align: right; }
td.num { white-space: nowrap; }
th { background: var(--panel); }
th button { font: inherit; font-weight: 600; background: none; border: 0; padding: 0; cursor: pointer; color: inherit; }
th button::after { content: " ⇅"; color: var(--muted); }
th[aria-sort="ascending"] button::after { content: " ▲"; }
th[aria-sort="descending"] button::after { content: " ▼"; }
code, pre { font: .85rem/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
h1 code { font-size: 1.3rem; }
pre { background: var(--panel); padding: .6rem; overflow-x: auto; max-height: 24rem; border-radius: .3rem; }
.copy-row { display: flex; gap: .75rem; align-items: center; }
button.copy { font: inherit; padding: .2rem .7rem; border: 1px solid #0072B2; border-radius: .25rem; background: #fff; color: #0072B2; cursor: pointer; }
button:focus-visible { outline: 3px solid #E69F00; outline-offset: 2px; }
.offscreen { position: absolute; left: -9999px; }
details > summary { cursor: pointer; font-weight: 600; margin: .6rem 0; }
.explain { background: #fff4e5; border-left: 4px solid #D55E00; padding: .75rem 1rem; }
.explain h2 { margin-top: 0; }
figure p.note { margin: .4rem 0 .2rem; }
#stages th[scope="row"] { white-space: nowrap; }
th svg { display: inline-block; }
td code { white-space: nowrap; }
`;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
}

/**
 * Everything the page runs or styles is inline, so a strict policy can name it by hash: an
 * injected <script> or <style> would not run even if escaping ever missed one. Set as a <meta> so
 * the saved file is protected too; the server repeats it as a header.
 */
export const PAGE_CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  `script-src ${sha256(PAGE_SCRIPT)}`,
  `style-src ${sha256(PAGE_STYLE)}`,
  "base-uri 'none'",
  "form-action 'none'",
].join('; ');

export interface DocumentParts {
  readonly title: string;
  readonly body: SafeHtml;
  /** Reload the page after this many seconds (a job that is still running). */
  readonly refreshSec?: number;
}

export function renderDocument({ title, body, refreshSec }: DocumentParts): string {
  const refresh = refreshSec === undefined ? '' : html`<meta http-equiv="refresh" content="${refreshSec}">`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${PAGE_CONTENT_SECURITY_POLICY}">
<meta name="generator" content="meshplan">
${refresh}
<title>${title}</title>
<style>${new SafeHtml(PAGE_STYLE)}</style>
</head>
<body>
${body}
<script>${new SafeHtml(PAGE_SCRIPT)}</script>
</body>
</html>
`.value;
}
