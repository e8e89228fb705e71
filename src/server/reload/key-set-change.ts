import type { Logger } from 'winston';
import type { HistoryState } from '../../core/history-state.js';
import { WEAK_KEY_LENGTH, fingerprint } from '../../core/key.js';
import type { KeySet } from '../../core/key-set.js';
import { adjustedWindow, sameWindow } from '../../core/key-window.js';
import type { KeyStore } from './key-store.js';

/** Puts a new key set in force and says so: `key loaded`, and a warning for a key short enough to guess. */
export function putInForce(store: KeyStore, logger: Logger, set: KeySet, trigger: string): void {
  store.swap(set);
  const { key, source } = set.current;
  const previous = set.previous && { previous: fingerprint(set.previous.key), previousUntil: set.previous.until.toISOString() };
  logger.info('key loaded', { fingerprint: fingerprint(key), source, trigger, ...previous });
  if (key.length < WEAK_KEY_LENGTH && source !== 'development') {
    logger.warn(`key is shorter than ${WEAK_KEY_LENGTH} characters and easy to guess; rotate it with manage-key`, { fingerprint: fingerprint(key), source });
  }
}

/** What updateWindow needs: the set in force, the history's new state, and where to apply a change. */
export interface WindowUpdate {
  held: KeySet;
  state: HistoryState;
  graceMs: number;
  now: number;
  store: KeyStore;
  logger: Logger;
  trigger: string;
}

/**
 * After the history changed but the key did not: the previous key's window the history now asks for (a
 * revocation ends it, a copy of the history catching up opens it), applied to the store and logged when
 * it differs from the one in force. Returns the key set in force afterwards.
 */
export function updateWindow(update: WindowUpdate): KeySet {
  const { held, now, store, logger, trigger } = update;
  const inForce = held.previous && held.previous.until.getTime() > now ? held.previous : undefined;
  const wanted = adjustedWindow(update.state, held.current.key, inForce, update.graceMs, now);
  if (sameWindow(inForce, wanted)) return held;
  const next: KeySet = { current: held.current, previous: wanted };
  if (wanted) {
    store.swap(next);
    logger.info('previous key window changed', { previous: fingerprint(wanted.key), previousUntil: wanted.until.toISOString(), trigger });
  } else {
    store.endPrevious();
    logger.warn('previous key no longer valid (revoked or window over)', { previous: held.previous && fingerprint(held.previous.key), trigger });
  }
  return next;
}
