/**
 * A LinearModel as a CPLEX-format LP file (what CBC, and PuLP for it, read): objective, rows with their
 * bounds, every column binary. Terms are wrapped a few per line, since some readers limit line length.
 */
import type { LinearModel } from './linearise.ts';

const TERMS_PER_LINE = 8;

/** Full precision: the memory row's scaled coefficients differ in late digits. */
function term(coefficient: number, name: string, first: boolean): string {
  const sign = coefficient < 0 ? '-' : first ? '' : '+';
  return `${sign}${sign === '' ? '' : ' '}${Math.abs(coefficient)} ${name}`;
}

function terms(
  columns: readonly number[],
  coefficients: readonly number[],
  names: readonly string[],
): string {
  const parts = columns.map((column, j) => term(coefficients[j]!, names[column]!, j === 0));
  const lines: string[] = [];
  for (let i = 0; i < parts.length; i += TERMS_PER_LINE)
    lines.push(parts.slice(i, i + TERMS_PER_LINE).join(' '));
  return lines.join('\n   ');
}

export function writeLpFile(model: LinearModel): string {
  const names = model.columnNames;
  const all = names.map((_, column) => column);
  const out = ['Minimize', ` obj: ${terms(all, model.columnCosts, names)}`, 'Subject To'];
  model.rows.forEach((row, r) => {
    if (row.columns.length === 0) return;
    const lhs = terms(row.columns, row.coefficients, names);
    if (row.lower === row.upper) out.push(` r${r}: ${lhs} = ${row.upper}`);
    else {
      // A ranged row becomes two one-sided rows.
      if (Number.isFinite(row.lower)) out.push(` r${r}_lo: ${lhs} >= ${row.lower}`);
      if (Number.isFinite(row.upper)) out.push(` r${r}_up: ${lhs} <= ${row.upper}`);
    }
  });
  out.push('Binaries');
  for (let i = 0; i < names.length; i += TERMS_PER_LINE)
    out.push(` ${names.slice(i, i + TERMS_PER_LINE).join(' ')}`);
  out.push('End', '');
  return out.join('\n');
}
