import { basename, dirname, join, resolve } from 'node:path';
import { watch } from 'chokidar';
import type { FSWatcher } from 'chokidar';

/** `events`: file-system notifications (local disks); `poll`: re-read on a timer (network mounts). */
export type WatchMode = 'events' | 'poll';

/** What watchFiles needs; only files, mode and onChange are required. */
export interface FileWatcherOptions {
  /** The files that matter (a key and its history, a certificate and its private key); any change to one is reported. */
  files: readonly string[];
  mode: WatchMode;
  /** Period of the content check that runs whatever the watch reports (events mode); 0 turns it off. */
  backstopMs?: number;
  /** Period of the re-read in poll mode. */
  pollMs?: number;
  /** Delay of the re-check after the last event of a burst. */
  settleMs?: number;
  /** Told that a file may have changed; the trigger names why (`change:.api_key`, `settle`, `rewatch`, `backstop`, `poll`). */
  onChange: (trigger: string) => void;
  /** Told about watch errors; nothing is ever thrown out of the watcher. */
  onError?: (err: Error) => void;
}

/** A running watch. */
export interface FileWatcher {
  close(): Promise<void>;
}

/** Default period of the backstop content check. */
export const DEFAULT_BACKSTOP_MS = 2000;
/** Default period of the re-read in poll mode. */
export const DEFAULT_POLL_MS = 500;
/** Default delay of the re-check after a burst of events. */
export const DEFAULT_SETTLE_MS = 100;

/** Where a watch looks: the directories it is rooted at, every path whose events count, and the files' directories. */
export interface WatchedPaths {
  roots: string[];
  relevant: Set<string>;
  dirs: Set<string>;
}

/**
 * The paths whose events may concern the files. Each file's *grandparent* is watched so that removing
 * and re-creating the file's directory cannot kill the watch; `..data` is where a Kubernetes Secret
 * volume swaps its content (the file itself, a symlink into it, never changes there).
 */
export function watchedPathsOf(files: readonly string[]): WatchedPaths {
  const roots = new Set<string>();
  const relevant = new Set<string>();
  const dirs = new Set<string>();
  for (const file of files.map((f) => resolve(f))) {
    const dir = dirname(file);
    const root = dirname(dir);
    roots.add(root);
    dirs.add(dir);
    for (const path of [root, dir, join(dir, '..data'), file]) relevant.add(path);
  }
  return { roots: [...roots], relevant, dirs };
}

/** Watches files so that no way of replacing them goes unseen. Resolves once the watch is established. */
export async function watchFiles(options: FileWatcherOptions): Promise<FileWatcher> {
  const onError = (err: unknown) => {
    try {
      options.onError?.(err instanceof Error ? err : new Error(String(err)));
    } catch {
      /* an error handler that throws must not take the watcher down */
    }
  };
  let closed = false;
  const notify = (trigger: string) => {
    if (closed) return;
    try {
      options.onChange(trigger);
    } catch (err) {
      onError(err);
    }
  };
  const timers: NodeJS.Timeout[] = [];
  let settle: NodeJS.Timeout | undefined;
  let rewatchTimer: NodeJS.Timeout | undefined;
  const every = (ms: number, trigger: string) => {
    if (ms > 0) timers.push(setInterval(() => notify(trigger), ms).unref());
  };

  if (options.mode === 'poll') {
    // A plain re-read cannot be fooled by how the file was replaced; the reloader makes an
    // unchanged re-read cheap and silent, so this is all a filesystem without events needs.
    every(options.pollMs ?? DEFAULT_POLL_MS, 'poll');
    return { close: async () => stop() };
  }

  const { roots, relevant, dirs } = watchedPathsOf(options.files);
  // Every event in the watched directories passes through here, most of them about other files (an
  // editor's or a writer's temp files): a name that cannot be relevant is dropped before any path work.
  const names = new Set([...relevant].map((path) => basename(path)));
  const isRelevant = (path: string) => names.has(basename(path)) && relevant.has(resolve(path));
  const settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  const seen = (trigger: string, path: string) => {
    notify(trigger);
    // chokidar drops a second change within ~50 ms and truncate-then-write reports only the
    // truncate: a re-check after the burst settles reads whatever was written last.
    clearTimeout(settle);
    settle = setTimeout(() => notify('settle'), settleMs).unref();
    // After a file's directory is removed and re-created in quick succession, chokidar can keep a
    // watch on the deleted directory (shared process-wide, so reused by a second watcher) and see
    // nothing inside the new one. Once such a burst is over, drop the watch and start afresh.
    if (dirs.has(resolve(path))) {
      clearTimeout(rewatchTimer);
      rewatchTimer = setTimeout(() => void rewatch(), settleMs).unref();
    }
  };
  const open = async (): Promise<FSWatcher> => {
    const fresh = watch(roots, {
      // Lets chokidar descend only along the paths to the files, so it holds a handful of watches.
      ignored: (path: string) => !isRelevant(path),
      followSymlinks: false,
      ignoreInitial: true,
      persistent: true,
    });
    fresh.on('all', (event, path) => seen(`${event}:${basename(path)}`, path));
    // The raw fs.watch events arrive before chokidar's own and are never throttled, so a second
    // write right after a first is read at once instead of at the settle re-check.
    fresh.on('raw', (event, name, details) => {
      const watched = (details as { watchedPath?: string } | undefined)?.watchedPath;
      if (!watched || !name || !names.has(name)) return;
      // A directory's watch names an entry, a file's (or symlink's) watch names the file itself; an
      // entry may share its directory's name (api/api), so the entry reading is tried first.
      const path = [join(watched, name), watched].find((p) => basename(p) === name && isRelevant(p));
      if (path) seen(`raw-${event}:${name}`, path);
    });
    fresh.on('error', onError);
    await new Promise<void>((done) => fresh.once('ready', done));
    return fresh;
  };
  let watcher = open();
  // Closes before opening: a new watch opened first would share the stale one.
  const rewatch = (): Promise<FSWatcher> => (watcher = watcher.then(async (stale) => {
    await stale.close().catch(onError);
    if (closed) return stale;
    const fresh = await open();
    notify('rewatch');
    return fresh;
  }));
  await watcher;
  // No watch death was ever seen with an `error` event; a periodic check is the only proof of life.
  every(options.backstopMs ?? DEFAULT_BACKSTOP_MS, 'backstop');

  async function stop(): Promise<void> {
    closed = true;
    clearTimeout(settle);
    clearTimeout(rewatchTimer);
    for (const timer of timers) clearInterval(timer);
  }
  return {
    close: async () => {
      await stop();
      await (await watcher).close().catch(onError);
    },
  };
}
