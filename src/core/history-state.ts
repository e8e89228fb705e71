import { Action, GRACE_UNTIL } from './history.js';
import type { HistoryEntry } from './history.js';

/** What the history says about which keys are valid. */
export interface HistoryState {
  current?: { key: string; since: Date };
  /** The key replaced by the latest rotation, with what that rotation said about it. */
  previous?: { key: string; replacedAt: Date; graceUntil?: Date; revoked: boolean };
  revoked: ReadonlySet<string>;
}

/** Derives the current key, the previous key's fate and the revoked keys from history entries. */
export function deriveState(entries: readonly HistoryEntry[]): HistoryState {
  const revoked = new Set<string>();
  let current: HistoryState['current'];
  let previous: HistoryState['previous'];
  let replaced: string | undefined;
  for (const entry of entries) {
    if (entry.action === Action.replaced) {
      replaced = entry.key;
    } else if (entry.action === Action.rotatedNew) {
      const old = replaced ?? current?.key;
      previous = old !== undefined && old !== entry.key
        ? { key: old, replacedAt: entry.time, revoked: revoked.has(old) }
        : undefined;
      current = { key: entry.key, since: entry.time };
      replaced = undefined;
    } else if (entry.action === Action.generated) {
      // A (forced) generation starts afresh: no earlier key keeps a window.
      current = { key: entry.key, since: entry.time };
      previous = undefined;
      replaced = undefined;
    } else if (entry.action === Action.revoked) {
      revoked.add(entry.key);
      if (previous?.key === entry.key) previous.revoked = true;
    } else if (entry.action.startsWith(GRACE_UNTIL) && previous?.key === entry.key) {
      const until = new Date(entry.action.slice(GRACE_UNTIL.length));
      if (!Number.isNaN(until.getTime())) previous.graceUntil = until;
    }
  }
  return { current, previous, revoked };
}
