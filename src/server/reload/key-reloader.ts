import type { Logger } from 'winston';
import { KeyFileError, isErrnoCode } from '../../core/errors.js';
import { WEAK_KEY_LENGTH, fingerprint } from '../../core/key.js';
import { readKeyFile } from '../../core/key-file.js';
import { historyPathFor } from '../../core/history.js';
import { HistoryReader } from '../../core/history-reader.js';
import { coalesced } from './coalesce.js';
import type { KeySet, KeySource } from '../../core/key-set.js';
import type { KeyStore } from './key-store.js';
import { resolveInitialKey } from './key-source.js';
import type { InitialKeyEnv } from './key-source.js';
import { adjustedWindow, keySetFor, sameWindow } from '../../core/key-window.js';
import { RejectionLog } from './rejection-log.js';
import { ReloadRecord } from './reload-record.js';
import type { ReloadEvent } from './reload-record.js';

/** What a KeyReloader needs. */
export interface KeyReloaderOptions {
  keyFile: string;
  store: KeyStore;
  /** How long a replaced key stays valid when the history says nothing else; 0 = not at all. */
  graceMs: number;
  logger: Logger;
  clock?: () => number;
  onReload?: (e: ReloadEvent) => void;
  /** Delay of the one extra re-read after an empty file (a write in progress). */
  retryMs?: number;
}

/**
 * Loads the key file into the key store: first by source order, then again on every trigger.
 * Reloads never overlap; triggers during a reload cause one more reload after it, so the last
 * write always wins. Bad content never replaces a good key.
 */
export class KeyReloader {
  readonly #o: KeyReloaderOptions;
  readonly #clock: () => number;
  readonly #history: HistoryReader;
  readonly #serial: (trigger: string) => Promise<ReloadEvent>;
  #held: KeySet | undefined;
  #retry: NodeJS.Timeout | undefined;
  readonly #record: ReloadRecord;
  readonly #rejections: RejectionLog;

  constructor(options: KeyReloaderOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
    this.#rejections = new RejectionLog(options.logger, options.keyFile);
    this.#record = new ReloadRecord(options.logger, options.onReload);
    this.#history = new HistoryReader(historyPathFor(options.keyFile), (reason) =>
      options.logger.warn('history unreadable; previous-key windows from memory only', { reason }));
    this.#serial = coalesced((trigger) => this.#attempt(trigger).catch((err: unknown) => this.#reject(trigger, err)));
  }

  /** The last reload that did something, with the time of the latest re-read (see ReloadRecord). */
  get lastReload(): ReloadEvent | undefined {
    return this.#record.last;
  }

  /** First load by source order: key file, else env key, else development key, else generate.
   *  Resolves to the source, or undefined when the key file exists but is invalid. */
  async initialise(env: InitialKeyEnv): Promise<KeySource | undefined> {
    const first = await resolveInitialKey({ keyFile: this.#o.keyFile, env, logger: this.#o.logger, clock: this.#clock });
    if ('error' in first) {
      this.#reject('initialise', first.error);
      return undefined;
    }
    await this.#load(first.key, first.source, 'initialise');
    return first.source;
  }

  /** Re-reads key file + history now (watcher event, SIGHUP, backstop); serialised and coalesced. */
  reload(trigger: string): Promise<ReloadEvent> {
    return this.#serial(trigger);
  }

  /** Cancels a pending re-read; reloads already started finish. */
  close(): void {
    clearTimeout(this.#retry);
  }

  async #attempt(trigger: string): Promise<ReloadEvent> {
    let key: string;
    try {
      key = await readKeyFile(this.#o.keyFile);
    } catch (err) {
      const held = this.#held?.current.source;
      // On the env or development key a missing file is the normal state, not a fault.
      if ((held === 'env' || held === 'development') && err instanceof KeyFileError && err.code === 'KEY_MISSING') {
        return this.#emit({ outcome: 'unchanged', trigger, source: held, at: this.#now() });
      }
      return this.#reject(trigger, err);
    }
    const heldCurrent = this.#held?.current;
    const fileBacked = heldCurrent?.source === 'file' || heldCurrent?.source === 'generated';
    if (fileBacked && heldCurrent.key === key) return this.#unchanged(key, trigger);
    return this.#load(key, 'file', trigger);
  }

  async #load(key: string, source: KeySource, trigger: string): Promise<ReloadEvent> {
    const { state } = await this.#history.read();
    const set = keySetFor({ key, source, state, held: this.#held?.current, graceMs: this.#o.graceMs, now: this.#clock() });
    this.#o.store.swap(set);
    this.#held = set;
    const event = this.#event('loaded', trigger, key, source);
    const previous = set.previous && { previous: fingerprint(set.previous.key), previousUntil: set.previous.until.toISOString() };
    this.#o.logger.info('key loaded', { fingerprint: event.fingerprint, source, trigger, ...previous });
    if (key.length < WEAK_KEY_LENGTH && source !== 'development') {
      this.#o.logger.warn(`key is shorter than ${WEAK_KEY_LENGTH} characters and easy to guess; rotate it with manage-key`, { fingerprint: event.fingerprint, source });
    }
    return this.#emit(event);
  }

  // Same key: cheap and silent, unless the history changed what the previous key may do.
  async #unchanged(key: string, trigger: string): Promise<ReloadEvent> {
    const held = this.#held!;
    const { state, changed } = await this.#history.read();
    if (changed) {
      const now = this.#clock();
      const inForce = held.previous && held.previous.until.getTime() > now ? held.previous : undefined;
      const wanted = adjustedWindow(state, key, inForce, this.#o.graceMs, now);
      if (!sameWindow(inForce, wanted)) this.#setWindow(wanted, trigger);
    }
    if (this.#rejections.reported) this.#o.logger.info('key file valid again', { fingerprint: fingerprint(key), trigger });
    return this.#emit(this.#event('unchanged', trigger, key, held.current.source));
  }

  #setWindow(wanted: KeySet['previous'], trigger: string): void {
    const held = this.#held!;
    this.#held = { current: held.current, previous: wanted };
    if (wanted) {
      this.#o.store.swap(this.#held);
      this.#o.logger.info('previous key window changed', { previous: fingerprint(wanted.key), previousUntil: wanted.until.toISOString(), trigger });
    } else {
      this.#o.store.endPrevious();
      this.#o.logger.warn('previous key no longer valid (revoked or window over)', { previous: held.previous && fingerprint(held.previous.key), trigger });
    }
  }

  #reject(trigger: string, err: unknown): ReloadEvent {
    const reason = err instanceof KeyFileError ? err.code : isErrnoCode(err) ? err.code! : 'KEY_UNREADABLE';
    const held = this.#held?.current;
    // An empty or missing file is usually a replacement in progress (truncate then write, delete then
    // re-create): look once more soon, and, while a good key is in force, call it an error only if it
    // is still so then.
    const mayBeWriting = (reason === 'KEY_EMPTY' || reason === 'KEY_MISSING') && trigger !== 'retry';
    if (mayBeWriting) {
      clearTimeout(this.#retry);
      this.#retry = setTimeout(() => void this.reload('retry'), this.#o.retryMs ?? 50).unref();
    }
    this.#rejections.report({ reason, trigger, held, quiet: mayBeWriting && held !== undefined });
    return this.#emit({ outcome: 'rejected', trigger, reason, source: held?.source, at: this.#now() });
  }

  #event(outcome: ReloadEvent['outcome'], trigger: string, key: string, source: KeySource): ReloadEvent {
    return { outcome, trigger, fingerprint: fingerprint(key), source, at: this.#now() };
  }

  #emit(event: ReloadEvent): ReloadEvent {
    if (event.outcome !== 'rejected') this.#rejections.clear();
    this.#record.note(event);
    return event;
  }

  #now(): Date {
    return new Date(this.#clock());
  }
}
