import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';

/** The key file used when neither --key-file nor QWEN_API_KEY_FILE names one. */
export const DEFAULT_KEY_FILE = 'api/.api_key';

/** Where the key file is, in full, and what named it. */
export interface KeyLocation {
  /** Absolute path. */
  path: string;
  origin: 'flag' | 'env' | 'default';
  /** The working directory the default is relative to. */
  cwd: string;
}

/** Resolves the key file: --key-file, else QWEN_API_KEY_FILE, else api/.api_key under `cwd`. */
export function locateKeyFile(flag: string | undefined, env: Readonly<Record<string, string | undefined>>, cwd: string): KeyLocation {
  const named = flag ?? (env.QWEN_API_KEY_FILE || undefined);
  const origin = flag !== undefined ? 'flag' : named !== undefined ? 'env' : 'default';
  return { path: resolve(cwd, named ?? DEFAULT_KEY_FILE), origin, cwd };
}

/**
 * Why `generate` (or another `command` that writes beside the key file: `add`, `remove`, `rotate NAME`)
 * should not run here, or undefined: with the default key file, a working directory
 * without `api/` is almost always the wrong one (a stray key in `/api/.api_key` that no server reads).
 * A key file named by --key-file or QWEN_API_KEY_FILE is the operator's choice, and its directory is created.
 */
export async function generateRefusal(location: KeyLocation, command = 'generate'): Promise<string | undefined> {
  // Only an absent directory is refused; one that is in the way fails the write with its own words.
  if (location.origin !== 'default' || await exists(dirname(location.path))) return undefined;
  return `there is no api/ directory in ${location.cwd}, so this is not where a server keeps its key `
    + `(normally the repository root); run ${command} there, or name the key file with --key-file FILE `
    + '(or QWEN_API_KEY_FILE), whose directory is then created';
}

/**
 * One line for a command that found no file at `missing` (the key file or its history): the full path,
 * what chose it, and how to point elsewhere; `generate` is suggested only where it would run.
 */
export async function notFoundLine(what: string, missing: string, location: KeyLocation): Promise<string> {
  const chosenBy = { flag: 'from --key-file', env: 'from QWEN_API_KEY_FILE', default: 'the default, api/.api_key under the current directory' }[location.origin];
  const elsewhere = location.origin === 'default'
    ? 'run manage-key in the directory the server runs in, or name the key file with --key-file FILE (or QWEN_API_KEY_FILE)'
    : `check ${location.origin === 'flag' ? '--key-file' : 'QWEN_API_KEY_FILE'}`;
  const create = await generateRefusal(location) === undefined ? '; "manage-key generate" creates a key there' : '';
  return `${what} at ${missing} (${chosenBy}); ${elsewhere}${create}`;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(() => true, (err: NodeJS.ErrnoException) => err.code !== 'ENOENT');
}
