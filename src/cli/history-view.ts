import { parseClientAction } from '../core/client-history.js';
import { fingerprint, maskKey } from '../core/key.js';
import { formatStamp } from '../core/history.js';
import type { HistoryEntry } from '../core/history.js';

const RULE = '='.repeat(100);

/** One history entry for scripts: masked key and fingerprint, never the key; a named key's line has its client instead. */
export interface HistoryJsonEntry {
  time: string;
  stamp: string;
  action: string;
  /** The masked key; null on a named key's line, which holds only a fingerprint. */
  key: string | null;
  fingerprint: string;
  client?: string;
}

// A named key's line names it by fingerprint, which is shown as it is; anything else in that column is masked.
const FINGERPRINT = /^sha256:[0-9a-f]{12}$/;

/** Prints a history entry by entry, as it is read, so a history of any size is never held whole. */
export interface HistoryPrinter {
  entry(entry: HistoryEntry): void;
  /** Closes the output, naming the current key (the latest Generated or Rotated (new) entry, or the key file's). */
  end(currentKey: string | undefined): void;
}

/**
 * The documented masked view, line for line as the old tool printed it (`API Key History:`, a rule, a
 * blank line, one `date [Action] abc123...xyz789` line per entry, a blank line, the rule again and
 * `CURRENT ACTIVE KEY: ...`: the history's current key) or, for `json`, the same facts as
 * `JSON.stringify(historyJson(...), null, 2)` prints them. Full keys never appear in either.
 */
export function historyPrinter(format: 'view' | 'json', historyFile: string, write: (text: string) => void): HistoryPrinter {
  let count = 0;
  if (format === 'json') {
    // Nothing is written before the first entry or the end, so a history that cannot be read prints nothing.
    const head = `{\n  "historyFile": ${JSON.stringify(historyFile)},\n  "entries": [`;
    return {
      entry(e) {
        write(`${count++ === 0 ? head : ','}\n${indent(JSON.stringify(jsonEntry(e), null, 2), '    ')}`);
      },
      end(currentKey) {
        const current = currentKey === undefined ? 'null' : indent(JSON.stringify(describe(currentKey), null, 2), '  ').trimStart();
        write(`${count === 0 ? head : '\n  '}],\n  "current": ${current}\n}\n`);
      },
    };
  }
  return {
    entry(e) {
      if (count++ === 0) write(`API Key History:\n${RULE}\n\n`);
      write(`${formatStamp(e.time)} [${e.action}] ${clientOf(e) === undefined ? maskKey(e.key) : e.key}\n`);
    },
    end(currentKey) {
      const active = `CURRENT ACTIVE KEY: ${currentKey === undefined ? '(none)' : maskKey(currentKey)}\n`;
      write(count === 0 ? `No key history found in ${historyFile}.\n${active}` : `\n${RULE}\n${active}`);
    },
  };
}

/** The whole masked view of `entries` (historyPrinter, collected). */
export function formatHistoryView(entries: readonly HistoryEntry[], currentKey: string | undefined, historyFile: string): string {
  let text = '';
  const printer = historyPrinter('view', historyFile, (chunk) => (text += chunk));
  for (const entry of entries) printer.entry(entry);
  printer.end(currentKey);
  return text;
}

/** The history for scripts (`history --json`): the same facts as the view, keys masked and fingerprinted. */
export function historyJson(entries: readonly HistoryEntry[], currentKey: string | undefined, historyFile: string): object {
  return {
    historyFile,
    entries: entries.map(jsonEntry),
    current: currentKey === undefined ? null : describe(currentKey),
  };
}

function describe(key: string): { key: string; fingerprint: string } {
  return { key: maskKey(key), fingerprint: fingerprint(key) };
}

function jsonEntry(e: HistoryEntry): HistoryJsonEntry {
  const client = clientOf(e);
  const base = { time: e.time.toISOString(), stamp: formatStamp(e.time), action: e.action };
  return client === undefined ? { ...base, ...describe(e.key) } : { ...base, key: null, fingerprint: e.key, client };
}

// The client a named key's line is about, when the line is one (its Key column a fingerprint).
function clientOf(e: HistoryEntry): string | undefined {
  return FINGERPRINT.test(e.key) ? parseClientAction(e.action)?.name : undefined;
}

function indent(text: string, by: string): string {
  return text.split('\n').map((line) => by + line).join('\n');
}
