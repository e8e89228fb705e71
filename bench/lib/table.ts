import type { Machine } from './machine.js';
import type { SectionResult } from './section.js';

/** Renders all sections as one plain-text table (also valid Markdown), with the machine on top. */
export function renderTable(machine: Machine, sections: readonly SectionResult[]): string {
  const rows: string[][] = [['Section', 'Measure', 'Value', 'Goal', 'Met']];
  sections.forEach((s) => {
    const n = s.id;
    if (s.skipped !== undefined) {
      rows.push([n, `${s.title}`, `skipped: ${s.skipped}`, '', '']);
      return;
    }
    rows.push([n, `**${s.title}**`, '', '', '']);
    for (const m of s.metrics) {
      const value = m.unit ? `${m.value} ${m.unit}` : String(m.value);
      rows.push([n, m.name, value, m.goal ?? '', m.met === undefined ? '' : m.met ? 'yes' : 'NO']);
    }
  });
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  const line = (r: string[]): string => `| ${r.map((cell, c) => cell.padEnd(widths[c]!)).join(' | ')} |`;
  const rule = `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`;
  const head = `Machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node ${machine.node}, ${machine.os}; load average at start ${machine.loadAverageAtStart}`;
  const notes = sections.flatMap((s) => (s.notes ?? []).map((note) => `- ${s.id}: ${note}`));
  return [head, '', line(rows[0]!), rule, ...rows.slice(1).map(line), ...(notes.length ? ['', ...notes] : [])].join('\n');
}
