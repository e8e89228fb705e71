import type { SecureContextOptions } from 'node:tls';
import type { Logger } from 'winston';
import { coalesced } from '../reload/coalesce.js';
import { readTlsFiles } from './cert-files.js';
import type { TlsFiles } from './cert-files.js';
import { checkPair, digestOf } from './cert-pair.js';
import type { CertPair, CertificateInfo } from './cert-pair.js';
import { TlsError } from './tls-error.js';

// Triggers of the file watch's own events (`change:tls.crt`, `raw-rename:..data`), as opposed to its
// settle re-check, backstop and poll, SIGHUP and start-up.
const WATCH_EVENT = /^[\w-]+:/;

/** What one re-read of the certificate files did. */
export type CertReloadOutcome = 'loaded' | 'unchanged' | 'rejected';

/** The last re-read that did something: a pair put in force, or the files found unusable (first of a streak). */
export interface CertReloadEvent {
  outcome: CertReloadOutcome;
  trigger: string;
  /** A TlsError code, for a rejection. */
  reason?: string;
  at: Date;
}

/** The certificate in force as health shows it; a new object whenever anything in it changes. */
export interface CertificateSummary extends CertificateInfo {
  loadedAt: Date;
  /** Whether clients must present a certificate from the `--tls-ca` bundle. */
  clientCertificates: boolean;
  lastReload: CertReloadEvent;
}

/** What a CertReloader needs. */
export interface CertReloaderOptions {
  files: TlsFiles;
  logger: Logger;
  clock?: () => number;
  /** Told about every re-read (the metrics count them). */
  onReload?: (outcome: CertReloadOutcome) => void;
  /** Told about every pair put in force, the first included (the expiry warnings look at it). */
  onLoad?: (info: CertificateInfo) => void;
}

/**
 * Keeps a certificate and its key in force: loads the pair at start (a bad pair stops the server),
 * then re-reads both files on every trigger and swaps the new pair in only when the two parse, match
 * and are valid. Anything else (a half-written file, a certificate written before its key) keeps the
 * pair in force, logged once per streak and counted. Re-reads never overlap; the last write wins.
 */
export class CertReloader {
  readonly #o: CertReloaderOptions;
  readonly #clock: () => number;
  readonly #serial: (trigger: string) => Promise<CertReloadOutcome>;
  #apply: ((context: SecureContextOptions) => void) | undefined;
  #pair: CertPair | undefined;
  #loadedAt = new Date(0);
  #summary: CertificateSummary | undefined;
  #streak: string | undefined;

  constructor(options: CertReloaderOptions) {
    this.#o = options;
    this.#clock = options.clock ?? Date.now;
    this.#serial = coalesced((trigger) => this.#attempt(trigger));
  }

  /** The certificate in force, or undefined before initialise. */
  get summary(): CertificateSummary | undefined {
    return this.#summary;
  }

  /** Loads the pair at start; throws a TlsError that says what is wrong (the server then exits). */
  async initialise(): Promise<CertPair> {
    const pair = checkPair(await readTlsFiles(this.#o.files), this.#o.files, this.#clock());
    this.#inForce(pair, 'initialise');
    return pair;
  }

  /** Where a new pair goes once it checks out (the server's `setSecureContext`); a throw counts as a rejection. */
  attach(apply: (context: SecureContextOptions) => void): void {
    this.#apply = apply;
  }

  /** Re-reads the files now (watch event, SIGHUP, backstop); serialised and coalesced, never rejects. */
  reload(trigger: string): Promise<CertReloadOutcome> {
    return this.#serial(trigger);
  }

  async #attempt(trigger: string): Promise<CertReloadOutcome> {
    let outcome: CertReloadOutcome;
    try {
      const bytes = await readTlsFiles(this.#o.files);
      if (this.#pair && digestOf(bytes) === this.#pair.digest) {
        outcome = 'unchanged';
        if (this.#streak !== undefined) this.#note({ outcome, trigger, at: new Date(this.#clock()) });
        this.#streak = undefined;
      } else {
        const pair = checkPair(bytes, this.#o.files, this.#clock());
        this.#apply?.(pair.context);
        this.#inForce(pair, trigger);
        outcome = 'loaded';
      }
    } catch (err) {
      outcome = 'rejected';
      this.#reject(trigger, err);
    }
    try {
      this.#o.onReload?.(outcome);
    } catch (err) {
      this.#o.logger.warn('reload listener failed', { error: (err as Error).message });
    }
    return outcome;
  }

  #inForce(pair: CertPair, trigger: string): void {
    this.#pair = pair;
    this.#streak = undefined;
    this.#loadedAt = new Date(this.#clock());
    this.#note({ outcome: 'loaded', trigger, at: this.#loadedAt });
    const { fingerprintSha256, subject, notAfter } = pair.info;
    this.#o.logger.info('TLS certificate loaded', { fingerprintSha256, subject, notAfter: notAfter.toISOString(), trigger });
    this.#o.onLoad?.(pair.info);
  }

  // At warn once per streak of the same reason: the backstop re-reads a bad pair every few seconds. A
  // re-read on a watch event (`change:tls.crt`) may fall between the two writes of a renewal: the re-check
  // once the writes have settled, which always follows, has the last word.
  #reject(trigger: string, err: unknown): void {
    const reason = err instanceof TlsError ? err.code : 'TLS_CONTEXT_FAILED';
    const midWrite = WATCH_EVENT.test(trigger);
    const level = midWrite || this.#streak === reason ? 'debug' : 'warn';
    if (level === 'warn') this.#note({ outcome: 'rejected', trigger, reason, at: new Date(this.#clock()) });
    if (!midWrite) this.#streak = reason;
    this.#o.logger.log(level, 'TLS certificate or key rejected; keeping the pair in force', {
      reason, error: (err as Error).message, trigger, fingerprintSha256: this.#pair?.info.fingerprintSha256,
    });
  }

  #note(lastReload: CertReloadEvent): void {
    if (!this.#pair) return;
    this.#summary = { ...this.#pair.info, loadedAt: this.#loadedAt, clientCertificates: this.#o.files.ca !== undefined, lastReload };
  }
}
