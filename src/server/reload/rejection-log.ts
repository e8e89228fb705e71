import type { Logger } from 'winston';
import { fingerprint } from '../../core/key.js';
import type { KeySet } from '../../core/key-set.js';

/** One rejected re-read of the key file. */
export interface Rejection {
  /** A KeyFileError code (or errno code) saying what is wrong with the file. */
  reason: string;
  trigger: string;
  /** The key in force, if any: it stays in force. */
  held?: KeySet['current'];
  /** Logged at debug only: the file may be half way through a replacement and is looked at again soon. */
  quiet: boolean;
}

/**
 * How a key file the reloader cannot use is reported: at error once per streak of the same reason, since
 * a missing or broken file is re-read every backstop period and would otherwise flood the log.
 */
export class RejectionLog {
  readonly #logger: Logger;
  readonly #keyFile: string;
  #reported: string | undefined;

  constructor(logger: Logger, keyFile: string) {
    this.#logger = logger;
    this.#keyFile = keyFile;
  }

  /** Whether a rejection was logged at error since the last good read. */
  get reported(): boolean {
    return this.#reported !== undefined;
  }

  /** Logs a rejection, at error unless it is quiet or the streak's reason was already logged. */
  report(rejection: Rejection): void {
    const { reason, trigger, held } = rejection;
    const level = rejection.quiet || this.#reported === reason ? 'debug' : 'error';
    if (level === 'error') this.#reported = reason;
    this.#logger.log(level, held ? 'key file rejected; keeping the last good key' : 'key file rejected; not ready until it holds a valid key',
      { reason, trigger, keyFile: this.#keyFile, fingerprint: held && fingerprint(held.key) });
  }

  /** A good read ends the streak. */
  clear(): void {
    this.#reported = undefined;
  }
}
