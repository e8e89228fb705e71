import { access } from 'node:fs/promises';
import { deriveState } from '../core/history-state.js';
import { historyPathFor } from '../core/history.js';
import { readHistory } from '../core/history-file.js';
import { fingerprint } from '../core/key.js';
import { readKeyFile } from '../core/key-file.js';
import { formatHistoryView, historyJson } from './history-view.js';
import type { KeyLocation } from './key-location.js';
import { notFoundLine } from './key-location.js';

/** What `history` prints: the view (or JSON) for stdout and notes for stderr, or why there is nothing to show. */
export type HistoryOutput = { stdout: string; notes: string[] } | { failure: string };

/**
 * The `history` command. CURRENT ACTIVE KEY is the history's: the latest Generated or Rotated (new)
 * entry, the rule the history format promises; a key file that holds another key (edited by hand, or a
 * rotation cut short) is named in a note, by fingerprint. No history file is a failure, as no key file
 * is for `show`: the path looked at is named in full.
 */
export async function historyOutput(location: KeyLocation, json: boolean): Promise<HistoryOutput> {
  const keyFile = location.path;
  const historyFile = historyPathFor(keyFile);
  const inFile = await readKeyFile(keyFile).catch(() => undefined);
  if (!await access(historyFile).then(() => true, () => false)) {
    return {
      failure: inFile === undefined ? await notFoundLine('no key history', historyFile, location)
        : `no key history at ${historyFile}: the key file beside it was not written by manage-key (the next "manage-key rotate" starts one)`,
    };
  }
  const { entries, malformed } = await readHistory(historyFile);
  const current = deriveState(entries).current?.key;
  const notes: string[] = [];
  if (malformed > 0) notes.push(`skipped ${malformed} malformed line(s) in ${historyFile}`);
  if (inFile !== undefined && inFile !== current) {
    notes.push(`${keyFile} holds a key the history does not name as current (${fingerprint(inFile)}); it was changed without manage-key, `
      + 'and servers use the key file\'s key');
  }
  return {
    stdout: json ? `${JSON.stringify(historyJson(entries, current, historyFile), null, 2)}\n` : formatHistoryView(entries, current, historyFile),
    notes,
  };
}
