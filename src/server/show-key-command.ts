import { join, resolve } from 'node:path';

/** Where the server runs and which key file it uses, to say how to see a key it generated. */
export interface ShowKeyPlace {
  /** The server's working directory. */
  cwd: string;
  /** The checkout (or image directory) holding scripts/manage-key. */
  repoRoot: string;
  /** The key file as configured (relative to cwd, or absolute). */
  keyFile: string;
}

/**
 * A `manage-key show` command that works as printed for whoever reads the first-run log line:
 * `scripts/manage-key show` from the checkout's root with the default key file; otherwise the
 * wrapper's absolute path and the key file's, since `scripts/` and `api/` are not beside every
 * directory a server may be started from.
 */
export function showKeyCommand(place: ShowKeyPlace): string {
  const atRoot = resolve(place.cwd) === resolve(place.repoRoot);
  const keyFile = resolve(place.cwd, place.keyFile);
  const program = atRoot ? 'scripts/manage-key' : shellWord(join(place.repoRoot, 'scripts', 'manage-key'));
  const defaultKeyFile = keyFile === resolve(place.cwd, 'api', '.api_key');
  return `${program} show${atRoot && defaultKeyFile ? '' : ` --key-file ${shellWord(keyFile)}`}`;
}

// Quoted for a POSIX shell only when it needs to be, so the common case reads plainly.
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
