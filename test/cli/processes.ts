import { spawn } from 'node:child_process';
import type { SpawnOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseHistory } from '../../src/core/history.js';
import type { HistoryEntry } from '../../src/core/history.js';
import { tempDir } from '../core/helpers.js';
import { collect } from '../helpers/log-capture.js';

/** The repository root. */
export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The built CLI; integration tests run it exactly as users do. */
export const CLI_JS = join(REPO, 'dist', 'cli.js');
/** The POSIX wrapper. */
export const WRAPPER = join(REPO, 'scripts', 'manage-key');

/** Fails early, and clearly, when the build the integration tests run is missing. */
export function requireBuild(): void {
  if (!existsSync(CLI_JS)) throw new Error(`${CLI_JS} is missing: run "npm run build" first (npm test does)`);
}

/** What a finished CLI process left behind. */
export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A started CLI process: its pid, a way to kill it, and its end. */
export interface Running {
  kill: (signal: NodeJS.Signals) => void;
  done: Promise<Finished>;
  exited: () => boolean;
}

/** Starts `node dist/cli.js ARGS` (or the wrapper with `via: 'wrapper'`) in `cwd`; killed after `timeoutMs`. */
export function startCli(args: readonly string[], options: {
  cwd: string; env?: Record<string, string | undefined>; via?: 'node' | 'wrapper'; timeoutMs?: number; spawn?: SpawnOptions;
}): Running {
  const [command, argv] = options.via === 'wrapper' ? [WRAPPER, [...args]] : [process.execPath, [CLI_JS, ...args]];
  // A clean environment: nothing from the developer's shell (QWEN_API_KEY_FILE, QWEN_KEY_GRACE) leaks in.
  const env = { PATH: process.env.PATH, ...options.env };
  const child = spawn(command, argv, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'], ...options.spawn });
  let stdout = '';
  let stderr = '';
  let exited = false;
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk));
  // stdout may print a key (show, rotate, generate); stderr never may, so the key-leak guard reads it.
  child.stderr!.on('data', (chunk: Buffer) => { stderr += chunk; collect(String(chunk)); });
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
  const done = new Promise<Finished>((resolvePromise, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      exited = true;
      clearTimeout(timer);
      resolvePromise({ code, signal, stdout, stderr });
    });
  });
  return { kill: (signal) => child.kill(signal), done, exited: () => exited };
}

/** Runs the CLI to its end. */
export function runCli(args: readonly string[], options: Parameters<typeof startCli>[1]): Promise<Finished> {
  return startCli(args, options).done;
}

/** Reads a history file: raw text and parsed entries. */
export async function history(keyFile: string): Promise<{ text: string; entries: HistoryEntry[]; malformed: number }> {
  const text = await readFile(`${keyFile}_history`, 'utf8');
  return { text, ...parseHistory(text) };
}

/** The documented history line (plus the extra actions for windows and revocation). */
export const HISTORY_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| (Generated|Rotated \(replaced\)|Rotated \(new\)|Revoked|Grace until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z) \| \S+$/;

/** A generated key as printed: the key alone and a newline. */
export const PRINTED_KEY = /^qwk_[A-Za-z0-9_-]{43}\n$/;

/** A small seeded random source, so a failing run can be repeated with its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A temporary directory laid out like a server's working directory (with `api/`), where `generate` runs by default. */
export async function workDir(prefix?: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const made = await tempDir(prefix);
  await mkdir(join(made.dir, 'api'));
  return made;
}
