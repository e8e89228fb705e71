import { lstat, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, relative } from 'node:path';
import { KeyFileError, isErrnoCode } from './errors.js';
import { othersCanWrite, resolveIdentity } from './file-trust.js';
import type { Identity } from './file-trust.js';

/** Where a key or history write may go: the file itself, or the target of a symlink inside its directory. */
export interface WriteTarget {
  /** The path to write: `path`, or the real path of a symlink that stays inside its directory. */
  path: string;
  /** Whether a file is there already. */
  exists: boolean;
}

/**
 * Checks that a key or history file may be written by this user, and resolves where to. Refused
 * (KEY_UNTRUSTED, one line naming the path and the reason): a symlink leading out of its directory or
 * to nothing; a file owned by another user; a file with other hard links; a directory that others
 * can write (group or other write bit without the sticky bit) or that another user (not root) owns.
 * A write would otherwise go wherever someone else pointed it, or into a file someone else keeps.
 */
export async function writeTarget(path: string, identity: Identity = {}): Promise<WriteTarget> {
  const { uid, posix } = resolveIdentity(identity);
  const dir = await realpath(dirname(path));
  let target = path;
  let exists = true;
  try {
    if ((await lstat(path)).isSymbolicLink()) {
      const real = await realpath(path).catch((err: unknown) => {
        if (isErrnoCode(err, 'ENOENT', 'ELOOP')) throw untrusted(path, 'is a symbolic link to nothing');
        throw err;
      });
      const inside = relative(dir, dirname(real));
      if (inside.startsWith('..') || isAbsolute(inside)) throw untrusted(path, `is a symbolic link leading out of its directory (to ${real})`);
      target = real;
    }
  } catch (err) {
    if (!isErrnoCode(err, 'ENOENT')) throw err;
    exists = false;
  }
  if (posix) {
    const directory = await stat(dirname(target));
    const open = othersCanWrite(directory);
    if (open) throw untrusted(path, `is in a directory ${open} (${dirname(target)}); make it writable by its owner only (chmod go-w)`);
    if (uid !== undefined && directory.uid !== uid && directory.uid !== 0) {
      throw untrusted(path, `is in a directory owned by another user (uid ${directory.uid}), who can replace it`);
    }
    if (exists) {
      const file = await stat(target);
      if (uid !== undefined && file.uid !== uid) {
        throw untrusted(path, `is owned by another user (uid ${file.uid}); run manage-key as that user, or remove the file first`);
      }
      if (file.isFile() && file.nlink > 1) throw untrusted(path, `has ${file.nlink - 1} other hard link(s); a write would change them too`);
    }
  }
  return { path: target, exists };
}

function untrusted(path: string, why: string): KeyFileError {
  return new KeyFileError('KEY_UNTRUSTED', `refusing to write ${path}: it ${why}`);
}
