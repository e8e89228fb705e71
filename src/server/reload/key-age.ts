import type { Logger } from 'winston';
import type { KeyDescription, KeyStore } from './key-store.js';

const DAY_MS = 86_400_000;

/** How old the key in force is: since it was created (per the history) or, if unknown, since it was loaded. */
export function keyAgeMs(description: KeyDescription, now: number): number {
  return Math.max(0, now - (description.since ?? description.loadedAt).getTime());
}

/** Options for the rotation reminder. */
export interface KeyAgeWarningOptions {
  store: KeyStore;
  maxAgeMs: number;
  logger: Logger;
  clock?: () => number;
  /** How often to check; a day, so an overdue key is reported once a day. */
  intervalMs?: number;
}

/** Logs a warning now and then once a day while the key is older than `maxAgeMs`; returns a stop function. */
export function startKeyAgeWarnings(options: KeyAgeWarningOptions): () => void {
  const clock = options.clock ?? Date.now;
  const check = (): void => {
    const description = options.store.describe();
    if (!description) return;
    const ageMs = keyAgeMs(description, clock());
    if (ageMs > options.maxAgeMs) {
      options.logger.warn('key older than max key age; rotate it with manage-key rotate', {
        fingerprint: description.fingerprint,
        ageDays: Math.floor(ageMs / DAY_MS),
        maxAgeDays: Math.floor(options.maxAgeMs / DAY_MS),
      });
    }
  };
  check();
  const timer = setInterval(check, options.intervalMs ?? DAY_MS);
  timer.unref();
  return () => clearInterval(timer);
}
