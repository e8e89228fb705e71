import type { Logger } from 'winston';
import type { KeySource } from '../../core/key-set.js';

/** The result of one reload, for health and metrics. */
export interface ReloadEvent {
  outcome: 'loaded' | 'unchanged' | 'rejected';
  trigger: string;
  /** Why the content was rejected: a KeyFileError code. */
  reason?: string;
  fingerprint?: string;
  source?: KeySource;
  at: Date;
  /** On `lastReload` only: when the key file was last re-read, whatever that found (`at` is when this reload happened). */
  checkedAt?: Date;
}

/**
 * What health shows as the last reload: the last one that did something, not the last re-read. Something
 * is a key loaded, the file rejected (the first rejection of a run with the same reason), or the file found
 * good again after a rejection; unchanged re-reads (the backstop's, every few seconds) only move `checkedAt`.
 */
export class ReloadRecord {
  readonly #logger: Logger;
  readonly #listener: ((event: ReloadEvent) => void) | undefined;
  #change: ReloadEvent | undefined;
  #last: ReloadEvent | undefined;

  /** `listener` hears of every re-read (the metrics count them); one that throws is logged, never fatal. */
  constructor(logger: Logger, listener?: (event: ReloadEvent) => void) {
    this.#logger = logger;
    this.#listener = listener;
  }

  /** The last reload that did something, with `checkedAt` set to the latest re-read. */
  get last(): ReloadEvent | undefined {
    return this.#last;
  }

  /** Notes the result of a re-read and tells the listener. */
  note(event: ReloadEvent): void {
    const previous = this.#change;
    const news = event.outcome === 'loaded'
      || (event.outcome === 'rejected' && (previous?.outcome !== 'rejected' || previous.reason !== event.reason))
      || (event.outcome === 'unchanged' && previous?.outcome === 'rejected');
    if (news || !previous) this.#change = event;
    this.#last = { ...this.#change!, checkedAt: event.at };
    try {
      this.#listener?.(event);
    } catch (err) {
      this.#logger.warn('reload listener failed', { error: (err as Error).message });
    }
  }
}
