import type { Logger } from 'winston';
import { KeyFileError, isErrnoCode } from '../../core/errors.js';
import { fingerprint } from '../../core/key.js';
import { readKeyFile } from '../../core/key-file.js';
import { FileReads } from '../../core/regular-file.js';
import type { Identity } from '../../core/file-trust.js';
import { coalesced } from './coalesce.js';
import { ReloadHistory } from './reload-history.js';
import type { KeySet, KeySource } from '../../core/key-set.js';
import type { KeyStore } from './key-store.js';
import { resolveInitialKey } from './key-source.js';
import type { InitialKeyEnv } from './key-source.js';
import { keySetFor } from '../../core/key-window.js';
import { putInForce, updateWindow } from './key-set-change.js';
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
  /** Bounds every read of the key files in time (default: FileReads' own). */
  reads?: FileReads;
  /** The history, with --max-grace and the trust report (default: the key file's, 7-day maximum, no report). */
  history?: ReloadHistory;
  /** Who the daemon runs as: a first-run key is generated only where it may write. */
  identity?: Identity;
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
  readonly #history: ReloadHistory;
  readonly #reads: FileReads;
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
    this.#reads = options.reads ?? new FileReads();
    this.#history = options.history ?? new ReloadHistory({ keyFile: options.keyFile, logger: options.logger, reads: this.#reads });
    this.#serial = coalesced((trigger) => this.#attempt(trigger).catch((err: unknown) => this.#reject(trigger, err)));
  }

  /** The last reload that did something, with the time of the latest re-read (see ReloadRecord). */
  get lastReload(): ReloadEvent | undefined {
    return this.#record.last;
  }

  /** First load by source order: key file, else env key, else development key, else generate.
   *  Resolves to the source, or undefined when the key file exists but is invalid. */
  async initialise(env: InitialKeyEnv): Promise<KeySource | undefined> {
    const first = await resolveInitialKey({ keyFile: this.#o.keyFile, env, logger: this.#o.logger, clock: this.#clock,
      reads: this.#reads, identity: this.#o.identity });
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
      key = await readKeyFile(this.#o.keyFile, this.#reads);
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
    putInForce(this.#o.store, this.#o.logger, set, trigger);
    this.#held = set;
    return this.#emit(this.#event('loaded', trigger, key, source));
  }

  // Same key: cheap and silent, unless the history changed what the previous key may do.
  async #unchanged(key: string, trigger: string): Promise<ReloadEvent> {
    const { state, changed } = await this.#history.read();
    const { store, logger, graceMs } = this.#o;
    if (changed) this.#held = updateWindow({ held: this.#held!, state, graceMs, now: this.#clock(), store, logger, trigger });
    if (this.#rejections.reported) logger.info('key file valid again', { fingerprint: fingerprint(key), trigger });
    return this.#emit(this.#event('unchanged', trigger, key, this.#held!.current.source));
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
