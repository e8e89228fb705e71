import { historyPathFor, parseHistory } from './history.js';
import { deriveState } from './history-state.js';
import { readHistoryTail } from './history-tail.js';
import { fingerprint, parseKey } from './key.js';

/** The history's current key, or why it cannot stand in for the key file's (words to follow "its history"). */
export type HistoryCurrent = { key: string } | { unusable: string };

/**
 * The key the history names as current (its latest `Generated` or `Rotated (new)`), read as servers and
 * `status` read it. A server whose key file turns empty or invalid keeps exactly this key in force, so it
 * may stand in for the file's key only when it is one a server would have loaded: a valid key, not revoked.
 */
export async function historyCurrentKey(keyFile: string): Promise<HistoryCurrent> {
  const tail = await readHistoryTail(historyPathFor(keyFile));
  // Whether the tail starts at the file's beginning decides only the previous key's window, not the current key.
  const state = deriveState(parseHistory(tail.text).entries);
  const key = state.current?.key;
  if (key === undefined) return { unusable: 'names no current key' };
  if (state.revoked.has(key)) return { unusable: `names a revoked key (${fingerprint(key)}) as current` };
  try {
    return { key: parseKey(key) };
  } catch (err) {
    return { unusable: `names a current key that is not a valid key (${(err as Error).message})` };
  }
}
