import { fingerprint, maskKey } from '../core/key.js';
import { formatStamp } from '../core/history.js';
import type { HistoryEntry } from '../core/history.js';

const RULE = '='.repeat(100);

/**
 * The documented masked history view, line for line as the old tool printed it: `API Key History:`,
 * a rule, a blank line, one `date [Action] abc123...xyz789` line per entry, a blank line, the rule
 * again and `CURRENT ACTIVE KEY: ...` (the history's current key). Full keys never appear in it.
 */
export function formatHistoryView(entries: readonly HistoryEntry[], currentKey: string | undefined, historyFile: string): string {
  const active = `CURRENT ACTIVE KEY: ${currentKey === undefined ? '(none)' : maskKey(currentKey)}`;
  if (entries.length === 0) return `No key history found in ${historyFile}.\n${active}\n`;
  const lines = entries.map((e) => `${formatStamp(e.time)} [${e.action}] ${maskKey(e.key)}`);
  return ['API Key History:', RULE, '', ...lines, '', RULE, active, ''].join('\n');
}

/** One history entry for scripts: masked key and fingerprint, never the key. */
export interface HistoryJsonEntry {
  time: string;
  stamp: string;
  action: string;
  key: string;
  fingerprint: string;
}

/** The history for scripts (`history --json`): the same facts as the view, keys masked and fingerprinted. */
export function historyJson(entries: readonly HistoryEntry[], currentKey: string | undefined, historyFile: string): object {
  const describe = (key: string) => ({ key: maskKey(key), fingerprint: fingerprint(key) });
  return {
    historyFile,
    entries: entries.map((e): HistoryJsonEntry => ({ time: e.time.toISOString(), stamp: formatStamp(e.time), action: e.action, ...describe(e.key) })),
    current: currentKey === undefined ? null : describe(currentKey),
  };
}
