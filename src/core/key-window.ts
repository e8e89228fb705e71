import type { HistoryState } from './history-state.js';
import type { KeySet, KeySource } from './key-set.js';

/** The previous key and the end of its overlap window. */
export type PreviousKey = NonNullable<KeySet['previous']>;

/**
 * The window the history grants the key replaced by `key`: `undefined` when there is none (no
 * rotation, revoked, grace 0, already over), `null` when the history does not know `key` as its
 * current key (the file was edited by hand), so the history cannot say.
 * A per-rotation `Grace until` wins over the server's default grace; a revocation wins over both.
 */
export function windowFromHistory(state: HistoryState, key: string, graceMs: number, now: number): PreviousKey | undefined | null {
  if (state.current?.key !== key) return null;
  const previous = state.previous;
  if (!previous || previous.revoked || state.revoked.has(previous.key)) return undefined;
  let until: number;
  if (previous.graceUntil) until = previous.graceUntil.getTime();
  else if (graceMs > 0) until = previous.replacedAt.getTime() + graceMs;
  else return undefined;
  return until > now ? { key: previous.key, until: new Date(until) } : undefined;
}

/** What keySetFor needs to know. */
export interface KeySetInput {
  /** The key just read and where it came from. */
  key: string;
  source: KeySource;
  state: HistoryState;
  /** The key in force until now, if any. */
  held?: KeySet['current'];
  graceMs: number;
  now: number;
}

/**
 * The key set to put in force for a new key. When the history knows the key, the window comes
 * from the history, so it is the same whenever the server (re)starts; otherwise the key that was
 * in force becomes the previous one for `graceMs` from now. The development key never gets a
 * window: it is public.
 */
export function keySetFor(input: KeySetInput): KeySet {
  const { key, source, state, held, graceMs, now } = input;
  const fromHistory = windowFromHistory(state, key, graceMs, now);
  if (fromHistory !== null) {
    return { current: { key, source, since: state.current!.since }, previous: fromHistory };
  }
  const keepsWindow = held !== undefined && held.key !== key && held.source !== 'development'
    && !state.revoked.has(held.key) && graceMs > 0;
  return {
    current: { key, source },
    previous: keepsWindow ? { key: held.key, until: new Date(now + graceMs) } : undefined,
  };
}

/**
 * What the previous key's window should be now that the history changed but the key did not:
 * the history's verdict when it knows the key, else the window already in force unless the
 * history has since revoked that key.
 */
export function adjustedWindow(state: HistoryState, key: string, inForce: PreviousKey | undefined, graceMs: number, now: number): PreviousKey | undefined {
  const fromHistory = windowFromHistory(state, key, graceMs, now);
  if (fromHistory !== null) return fromHistory;
  if (!inForce || state.revoked.has(inForce.key) || inForce.until.getTime() <= now) return undefined;
  return inForce;
}

/** Whether two windows are the same key until the same time. */
export function sameWindow(a: PreviousKey | undefined, b: PreviousKey | undefined): boolean {
  if (!a || !b) return a === b;
  return a.key === b.key && a.until.getTime() === b.until.getTime();
}
