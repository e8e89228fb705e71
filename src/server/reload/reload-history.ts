import type { Logger } from 'winston';
import { formatDuration } from '../../core/duration.js';
import { historyPathFor } from '../../core/history.js';
import { HistoryReader } from '../../core/history-reader.js';
import { DEFAULT_MAX_GRACE_MS, clampGrace } from '../../core/history-state.js';
import type { HistoryState } from '../../core/history-state.js';
import { fingerprint } from '../../core/key.js';
import type { FileReads } from '../../core/regular-file.js';
import type { TrustReport } from './trust-report.js';

/** What ReloadHistory needs. */
export interface ReloadHistoryOptions {
  keyFile: string;
  logger: Logger;
  reads: FileReads;
  /** Longest window honoured (default 7 days); a longer `Grace until` is cut to it, with an error line. */
  maxGraceMs?: number;
  /** Checked before every read: while it names anything, the history grants no windows. */
  trust?: TrustReport;
  /** Told about every failed read of the history (a FIFO, a stalled read, EACCES), for counting. */
  onFailure?: (reason: string) => void;
}

/**
 * The history as the reloader may use it: its state from the bounded tail (HistoryReader), with any
 * window cut to `--max-grace`, and, while others can write the key files (TrustReport), no windows at
 * all: only its revocations, which can only end a key sooner, are kept.
 */
export class ReloadHistory {
  readonly #o: ReloadHistoryOptions;
  readonly #reader: HistoryReader;
  #trusted = true;

  constructor(options: ReloadHistoryOptions) {
    this.#o = options;
    this.#reader = new HistoryReader(historyPathFor(options.keyFile), (reason) =>
      options.logger.warn('history unreadable; previous-key windows from memory only', { reason }), { reads: options.reads, onFailure: options.onFailure });
  }

  /** The state to use now, and whether it may differ from the last one (the text or the trust changed). */
  async read(): Promise<{ state: HistoryState; changed: boolean }> {
    // Side by side: both stand between a rename of the key file and the new key in force.
    const [, { state, changed: textChanged }] = await Promise.all([this.#o.trust?.check(), this.#reader.read()]);
    const trusted = this.#o.trust?.trusted ?? true;
    const changed = textChanged || trusted !== this.#trusted;
    this.#trusted = trusted;
    if (!trusted) return { state: { revoked: state.revoked }, changed };
    const maxGraceMs = this.#o.maxGraceMs ?? DEFAULT_MAX_GRACE_MS;
    const { state: clamped, clamped: cut } = clampGrace(state, maxGraceMs);
    if (cut && changed) {
      this.#o.logger.error('history window longer than --max-grace; cut to it', {
        previous: fingerprint(cut.key), asked: cut.asked.toISOString(), previousUntil: cut.until.toISOString(),
        maxGrace: formatDuration(maxGraceMs),
      });
    }
    return { state: clamped, changed };
  }
}
