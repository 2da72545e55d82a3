import type { Breakdown } from '../schema/index.ts';
import { formatPercent, formatSec } from './format.ts';
import { html, type SafeHtml } from './html.ts';
import { legend } from './legend.ts';
import { OKABE_ITO, type Swatch } from './palette.ts';
import { stackSegments } from './stacked-bar.ts';

const BAR_W = 1000;

const COST_TERMS: readonly { key: keyof Breakdown; label: string; swatch: Swatch }[] = [
  { key: 'computeSec', label: 'compute', swatch: OKABE_ITO.blue },
  { key: 'tpCommSec', label: 'tensor-parallel communication', swatch: OKABE_ITO.skyBlue },
  { key: 'reshardSec', label: 'resharding', swatch: OKABE_ITO.yellow },
  { key: 'cpCommSec', label: 'context-parallel exchanges', swatch: OKABE_ITO.orange },
  { key: 'epCommSec', label: 'expert-parallel all-to-alls', swatch: OKABE_ITO.black },
  { key: 'ppCommSec', label: 'pipeline sends', swatch: OKABE_ITO.bluishGreen },
  { key: 'dpCommSec', label: 'data-parallel communication', swatch: OKABE_ITO.reddishPurple },
  { key: 'bubbleSec', label: 'pipeline bubble', swatch: OKABE_ITO.grey },
  { key: 'optimizerSec', label: 'optimizer step', swatch: OKABE_ITO.vermillion },
];

/** Where the step time goes, as the plan's breakdown names it. */
export function renderCostBreakdown(breakdown: Breakdown): SafeHtml {
  const terms = COST_TERMS.map((t) => ({ ...t, value: breakdown[t.key] }));
  const hidden = breakdown.hiddenByOverlapSec;
  const counted = terms.reduce((s, t) => s + t.value, 0);
  const whole = Math.max(counted, breakdown.totalSec);
  // The terms count communication whole; what overlap hides comes off. A slower stage elsewhere can
  // still make them differ from the step time, which the page then says rather than hides.
  const sum = counted - hidden;
  const mismatch =
    Math.abs(sum - breakdown.totalSec) > 1e-3 * breakdown.totalSec
      ? html` The terms add up to ${formatSec(sum)}, the step time is ${formatSec(breakdown.totalSec)}.`
      : '';
  const rows = terms.map(
    (t) =>
      html`<tr data-term="${t.key}"><th scope="row">${t.label}</th><td class="num" data-value="${t.value}">${formatSec(t.value)}</td><td class="num">${formatPercent(t.value / whole)}</td></tr>`,
  );
  if (hidden > 0)
    rows.push(
      html`<tr data-term="hiddenByOverlapSec"><th scope="row">hidden behind compute by overlap</th><td class="num" data-value="${hidden}">−${formatSec(hidden)}</td><td class="num">−${formatPercent(hidden / whole)}</td></tr>`,
    );
  return html`<figure>
<figcaption>Seconds of one training step by cost term (the critical path: the slowest stage, the bubble and what the step pays once; communication counted whole, what overlap hides behind compute taken off below).${mismatch}</figcaption>
<svg id="cost-bar" width="${BAR_W + 2}" height="28" viewBox="0 0 ${BAR_W + 2} 28" role="img" aria-label="Step time ${formatSec(breakdown.totalSec)} by cost term">${stackSegments(terms, whole, { x: 0, y: 1, width: BAR_W, height: 26 }, formatSec)}</svg>
${legend(terms.map((t) => ({ label: t.label, swatch: t.swatch, detail: formatSec(t.value) })))}
</figure>
<table id="cost-table"><thead><tr><th scope="col">Term</th><th scope="col" class="num">Seconds per step</th><th scope="col" class="num">Share</th></tr></thead>
<tbody>${rows}</tbody>
<tfoot><tr><th scope="row">step time</th><td class="num" data-value="${breakdown.totalSec}">${formatSec(breakdown.totalSec)}</td><td></td></tr></tfoot></table>`;
}
