import { KeyFileError, isErrnoCode } from './errors.js';
import { deriveState } from './history-state.js';
import { parseHistory } from './history.js';
import type { HistoryState } from './history-state.js';
import { readHistoryTail } from './history-tail.js';
import { FileReads } from './regular-file.js';

/**
 * Re-reads the end of a history file (readHistoryTail: the state needs only its last lines) and
 * re-derives its state only when that text changed: most reads are periodic checks of an unchanged
 * file. A missing file is an empty history; an unreadable one (a FIFO, a read that stalls, EACCES) is
 * reported, every time to `onFailure` and once per reason to `onProblem`, and read as empty.
 */
export class HistoryReader {
  readonly #path: string;
  readonly #onProblem: (reason: string) => void;
  readonly #onFailure: ((reason: string) => void) | undefined;
  readonly #reads: FileReads;
  #text: string | undefined;
  #complete: boolean | undefined;
  #state: HistoryState = deriveState([]);
  #problem: string | undefined;

  constructor(path: string, onProblem: (reason: string) => void, options: { reads?: FileReads; onFailure?: (reason: string) => void } = {}) {
    this.#path = path;
    this.#onProblem = onProblem;
    this.#onFailure = options.onFailure;
    this.#reads = options.reads ?? new FileReads();
  }

  /** The history's state now, and whether its text changed since the last read. */
  async read(): Promise<{ state: HistoryState; changed: boolean }> {
    let text = '';
    let complete = true;
    let problem: string | undefined;
    try {
      const tail = await readHistoryTail(this.#path, this.#reads);
      text = tail.text;
      complete = !tail.truncated;
    } catch (err) {
      problem = err instanceof KeyFileError ? err.code.replace('KEY_', 'HISTORY_') : isErrnoCode(err) ? err.code! : 'UNKNOWN';
      this.#onFailure?.(problem);
    }
    if (problem && problem !== this.#problem) this.#onProblem(problem);
    this.#problem = problem;
    const changed = text !== this.#text || complete !== this.#complete;
    if (changed) this.#state = deriveState(parseHistory(text).entries, complete);
    this.#text = text;
    this.#complete = complete;
    return { state: this.#state, changed };
  }
}
