import { access } from 'node:fs/promises';
import { Action, historyPathFor } from '../core/history.js';
import { scanHistory } from '../core/history-file.js';
import { fingerprint } from '../core/key.js';
import { readKeyFile } from '../core/key-file.js';
import { historyPrinter } from './history-view.js';
import type { KeyLocation } from './key-location.js';
import { notFoundLine } from './key-location.js';

/** Where `history` writes: the view (or JSON) to stdout, notes to stderr. */
export interface HistoryOutput {
  stdout: (text: string) => void;
  note: (text: string) => void;
}

/**
 * The `history` command, streamed: a history of any size is printed entry by entry, never held whole.
 * CURRENT ACTIVE KEY is the history's: the latest Generated or Rotated (new) entry, the rule the history
 * format promises; a key file that holds another key (edited by hand, or a rotation cut short) is named in
 * a note, by fingerprint. No history file is a failure, as no key file is for `show`: the path looked at
 * is named in full. Resolves to that failure's line, or undefined once the history is printed.
 */
export async function printHistory(location: KeyLocation, json: boolean, out: HistoryOutput): Promise<string | undefined> {
  const keyFile = location.path;
  const historyFile = historyPathFor(keyFile);
  const inFile = await readKeyFile(keyFile).catch(() => undefined);
  if (!await access(historyFile).then(() => true, () => false)) {
    // Whether manage-key ever wrote it cannot be known from here: the history may have been deleted since.
    return inFile === undefined ? notFoundLine('no key history', historyFile, location)
      : `no history file at ${historyFile}: it was deleted, or never written (a key file written by hand or by another tool); `
        + 'the next "manage-key rotate" starts a new one there, logging the key file\'s key as the one it replaces';
  }
  const printer = historyPrinter(json ? 'json' : 'view', historyFile, out.stdout);
  let current: string | undefined;
  const { malformed } = await scanHistory(historyFile, (entry) => {
    printer.entry(entry);
    if (entry.action === Action.generated || entry.action === Action.rotatedNew) current = entry.key;
  });
  printer.end(current);
  if (malformed > 0) out.note(`skipped ${malformed} malformed line(s) in ${historyFile}`);
  if (inFile !== undefined && inFile !== current) {
    out.note(`${keyFile} holds a key the history does not name as current (${fingerprint(inFile)}); it was changed without manage-key, `
      + 'and servers use the key file\'s key');
  }
  return undefined;
}
