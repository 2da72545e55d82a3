/*
 * The page's only script, kept as plain ES2020 so it runs in any current browser: sortable tables
 * (a <button> in each header, aria-sort on the sorted column) and copy buttons
 * (navigator.clipboard, which needs a secure context, falling back to a selected textarea).
 */
export const PAGE_SCRIPT = `
(() => {
  const keyOf = (cell) => {
    if (cell === undefined) return '';
    const value = cell.getAttribute('data-sort-value');
    return value === null ? cell.textContent.trim() : Number(value);
  };
  for (const table of document.querySelectorAll('table[data-sortable]')) {
    const heads = Array.from(table.tHead.rows[0].cells);
    heads.forEach((th, column) => {
      const button = th.querySelector('button');
      if (button === null) return;
      button.addEventListener('click', () => {
        const ascending = th.getAttribute('aria-sort') !== 'ascending';
        for (const other of heads) other.removeAttribute('aria-sort');
        th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        rows.sort((a, b) => {
          const x = keyOf(a.cells[column]);
          const y = keyOf(b.cells[column]);
          const order = typeof x === 'number' && typeof y === 'number'
            ? x - y
            : String(x).localeCompare(String(y), undefined, { numeric: true });
          return ascending ? order : -order;
        });
        body.append(...rows);
      });
    });
  }
  const copyFallback = (text) => {
    const area = document.createElement('textarea');
    area.value = text;
    area.setAttribute('readonly', '');
    area.className = 'offscreen';
    document.body.append(area);
    area.select();
    const copied = document.execCommand('copy');
    area.remove();
    return copied;
  };
  for (const button of document.querySelectorAll('button[data-copy]')) {
    button.addEventListener('click', async () => {
      const source = document.getElementById(button.getAttribute('data-copy'));
      const status = document.getElementById(button.getAttribute('data-copy') + '-status');
      const text = source === null ? '' : source.textContent;
      let copied = false;
      try {
        await navigator.clipboard.writeText(text);
        copied = true;
      } catch {
        copied = copyFallback(text);
      }
      if (status !== null) status.textContent = copied ? 'Copied.' : 'Copy failed: select the text and copy it by hand.';
    });
  }
})();
`;
