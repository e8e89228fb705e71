import { historyPathFor } from '../../core/history.js';
import { watchFiles, watchedPathsOf } from './file-watcher.js';
import type { FileWatcher, FileWatcherOptions } from './file-watcher.js';

export { DEFAULT_BACKSTOP_MS, DEFAULT_POLL_MS, DEFAULT_SETTLE_MS } from './file-watcher.js';
export type { WatchMode } from './file-watcher.js';

/** What watchKeyFile needs; only keyFile, mode and onChange are required. */
export interface KeyWatcherOptions extends Omit<FileWatcherOptions, 'files'> {
  keyFile: string;
}

/** A running watch of the key file. */
export type KeyWatcher = FileWatcher;

/** The key's watch: rooted at its grandparent, letting through the path to the key, `..data`, the key and its history. */
export function watchedPaths(keyFile: string): { root: string; relevant: Set<string> } {
  const { roots, relevant } = watchedPathsOf([keyFile, historyPathFor(keyFile)]);
  return { root: roots[0]!, relevant };
}

/**
 * Watches the key file and its history (a revocation appended later must be seen) so that no way of
 * replacing them goes unseen. Resolves once the watch is established.
 */
export function watchKeyFile(options: KeyWatcherOptions): Promise<KeyWatcher> {
  const { keyFile, ...rest } = options;
  return watchFiles({ ...rest, files: [keyFile, historyPathFor(keyFile)] });
}
