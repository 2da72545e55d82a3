import type { Exports } from '../schema/index.ts';
import { html, type SafeHtml } from './html.ts';

function notes(list: readonly string[]): SafeHtml | '' {
  return list.length === 0 ? '' : html`<ul class="note">${list.map((n) => html`<li>${n}</li>`)}</ul>`;
}

/** A block of text with a copy button; the page script copies the element named by `data-copy`. */
function copyable(id: string, label: string, text: string): SafeHtml {
  return html`<div class="copy-row"><button type="button" class="copy" data-copy="${id}" aria-label="Copy ${label}">Copy</button><span id="${id}-status" class="note" role="status" aria-live="polite"></span></div>
<pre id="${id}" aria-label="${label}">${text}</pre>`;
}

/** The plan as Megatron-LM arguments and a DeepSpeed config, ready to paste. */
export function renderExports(exports: Exports): SafeHtml {
  const { megatron, deepspeed } = exports;
  const megatronBody = megatron.expressible
    ? copyable('export-megatron', 'Megatron-LM command', megatron.command)
    : html`<p class="explain">Megatron-LM cannot run this plan as planned; see the notes.</p>`;
  const deepspeedBody = deepspeed.expressible
    ? copyable('export-deepspeed', 'DeepSpeed JSON config', JSON.stringify(deepspeed.config, null, 2))
    : html`<p class="explain">DeepSpeed cannot run this plan as planned; see the notes.</p>`;
  return html`<h3>Megatron-LM arguments</h3>
${megatronBody}
${notes(megatron.notes)}
<h3>DeepSpeed config (JSON)</h3>
${deepspeedBody}
${notes(deepspeed.notes)}`;
}
