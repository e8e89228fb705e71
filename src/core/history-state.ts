import { Action, GRACE_UNTIL } from './history.js';
import type { HistoryEntry } from './history.js';

/** What the history says about which keys are valid. */
export interface HistoryState {
  current?: { key: string; since: Date };
  /** The key replaced by the latest rotation, with what that rotation said about it. */
  previous?: { key: string; replacedAt: Date; graceUntil?: Date; revoked: boolean };
  revoked: ReadonlySet<string>;
}

/**
 * Derives the current key, the previous key's fate and the revoked keys from history entries. A rotation
 * opens a window only for the key the chain itself shows was current just before it: a `Rotated (replaced)`
 * line naming any other key (appended by whoever could write the file) is not believed. Before the chain
 * names any key, a replaced key is believed only when `complete` says the entries start at the beginning
 * of the file (a first rotation of a key written by hand); in a tail it might be anything.
 */
export function deriveState(entries: readonly HistoryEntry[], complete = true): HistoryState {
  const revoked = new Set<string>();
  let current: HistoryState['current'];
  let previous: HistoryState['previous'];
  let replaced: string | undefined;
  for (const entry of entries) {
    if (entry.action === Action.replaced) {
      replaced = entry.key;
    } else if (entry.action === Action.rotatedNew) {
      const old = current ? (replaced === undefined || replaced === current.key ? current.key : undefined) : complete ? replaced : undefined;
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

/** The longest window the history may grant unless the server says otherwise (--max-grace). */
export const DEFAULT_MAX_GRACE_MS = 7 * 86_400_000;

/** A window the history asked for that was longer than allowed: the key, the end asked for, and the end kept. */
export interface ClampedWindow {
  key: string;
  asked: Date;
  until: Date;
}

/**
 * The state with the previous key's `Grace until` cut to at most `maxGraceMs` after its rotation, and what
 * was cut, if anything. A window ending in 2099, appended by anyone, thus ends within `maxGraceMs`.
 */
export function clampGrace(state: HistoryState, maxGraceMs: number): { state: HistoryState; clamped?: ClampedWindow } {
  const previous = state.previous;
  if (!previous?.graceUntil) return { state };
  const limit = previous.replacedAt.getTime() + maxGraceMs;
  if (previous.graceUntil.getTime() <= limit) return { state };
  const until = new Date(limit);
  return { state: { ...state, previous: { ...previous, graceUntil: until } }, clamped: { key: previous.key, asked: previous.graceUntil, until } };
}
