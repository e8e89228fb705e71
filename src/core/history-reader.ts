import { readFile } from 'node:fs/promises';
import { isErrnoCode } from './errors.js';
import { deriveState } from './history-state.js';
import { parseHistory } from './history.js';
import type { HistoryState } from './history-state.js';

/**
 * Re-reads a history file and re-derives its state only when its text changed: most reads are
 * periodic checks of an unchanged file. A missing file is an empty history; an unreadable one
 * is reported (once per error code) and read as empty.
 */
export class HistoryReader {
  readonly #path: string;
  readonly #onProblem: (code: string) => void;
  #text: string | undefined;
  #state: HistoryState = deriveState([]);
  #problem: string | undefined;

  constructor(path: string, onProblem: (code: string) => void) {
    this.#path = path;
    this.#onProblem = onProblem;
  }

  /** The history's state now, and whether its text changed since the last read. */
  async read(): Promise<{ state: HistoryState; changed: boolean }> {
    let text = '';
    let problem: string | undefined;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (err) {
      if (!isErrnoCode(err, 'ENOENT', 'ENOTDIR')) problem = isErrnoCode(err) ? err.code! : 'UNKNOWN';
    }
    if (problem && problem !== this.#problem) this.#onProblem(problem);
    this.#problem = problem;
    const changed = text !== this.#text;
    if (changed) this.#state = deriveState(parseHistory(text).entries);
    this.#text = text;
    return { state: this.#state, changed };
  }
}
