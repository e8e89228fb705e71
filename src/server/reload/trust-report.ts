import type { Logger } from 'winston';
import { describeFindings, untrustedPaths } from '../../core/file-trust.js';
import type { Identity, TrustFinding } from '../../core/file-trust.js';
import type { FileReads } from '../../core/regular-file.js';

/** What a TrustReport needs. */
export interface TrustReportOptions {
  keyFile: string;
  /** The clients file, checked like the key file: whoever can write it can add a key of their own. */
  clientsFile?: string;
  logger: Logger;
  reads: FileReads;
  identity?: Identity;
}

/**
 * Which of the key file, its history, the clients file and their directories others than their owner can write (as ssh
 * checks a private key's): re-checked at every reload, logged at error when the set changes (not at
 * every backstop re-read), shown in health and metrics. While it names anything, the history grants no
 * windows: whoever can write there could open one for a key of their choosing.
 */
export class TrustReport {
  readonly #o: TrustReportOptions;
  #findings: readonly TrustFinding[] = [];
  #signature = '';

  constructor(options: TrustReportOptions) {
    this.#o = options;
  }

  /** The findings of the last check; the same array until they change, so callers may cache on it. */
  get findings(): readonly TrustFinding[] {
    return this.#findings;
  }

  /** Whether the files may be trusted for windows: nothing is writable by others. */
  get trusted(): boolean {
    return this.#findings.length === 0;
  }

  /** Looks again; logs when the set changed. A check that fails (a stalled file system) keeps the last result. */
  async check(): Promise<readonly TrustFinding[]> {
    let findings: TrustFinding[];
    try {
      findings = await untrustedPaths(this.#o.keyFile, { ...this.#o.identity, reads: this.#o.reads, clientsFile: this.#o.clientsFile });
    } catch {
      return this.#findings;
    }
    const signature = findings.map((f) => `${f.path}\0${f.problem}`).join('\n');
    if (signature === this.#signature) return this.#findings;
    this.#signature = signature;
    this.#findings = findings;
    if (findings.length > 0) {
      this.#o.logger.error('key files writable by others; windows from the history are not honoured', {
        problems: describeFindings(findings), paths: findings.map((f) => f.path),
      });
    } else {
      this.#o.logger.info('key files no longer writable by others', { keyFile: this.#o.keyFile });
    }
    return findings;
  }
}
