import type { Stats } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import { platform as osPlatform, userInfo } from 'node:os';
import { dirname } from 'node:path';
import { isErrnoCode } from './errors.js';
import { historyPathFor } from './history.js';
import { FileReads } from './regular-file.js';

/** Who reads or writes the key files; both have real defaults, injectable for tests. */
export interface Identity {
  /** Effective uid; the entry points pass process.geteuid(). */
  uid?: number;
  /** Owners and permission bits mean nothing on Windows: there, only symlinks are checked. */
  platform?: NodeJS.Platform;
}

/** The effective uid and whether POSIX owners and modes apply. */
export function resolveIdentity(identity: Identity = {}): { uid: number | undefined; posix: boolean } {
  const posix = (identity.platform ?? osPlatform()) !== 'win32';
  return { uid: identity.uid ?? (posix ? ownUid() : undefined), posix };
}

// os.userInfo() uses the effective uid, but throws when it has no passwd entry (a container's arbitrary uid).
function ownUid(): number | undefined {
  try {
    const { uid } = userInfo();
    return uid >= 0 ? uid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Why others than its owner can write a file or directory (group or other write bit), or undefined.
 * A sticky directory (/tmp, a Kubernetes Secret volume's root) lets others add names but not replace
 * or remove the owner's, so it counts as safe, as it does for ssh.
 */
export function othersCanWrite(stats: Pick<Stats, 'mode' | 'isDirectory'>): string | undefined {
  if ((stats.mode & 0o022) === 0) return undefined;
  if (stats.isDirectory() && (stats.mode & 0o1000) !== 0) return undefined;
  const who = [stats.mode & 0o020 ? 'its group' : '', stats.mode & 0o002 ? 'everyone' : ''].filter(Boolean).join(' and ');
  return `writable by ${who}`;
}

/**
 * Why a file or directory belongs to someone the reader cannot trust, or undefined: an owner other than
 * the reader's own user (`uid`) and root can change it at will, and in a sticky directory such as /tmp
 * anyone may create the name first. Unknown `uid` (no passwd entry): not looked at.
 */
export function ownedByOther(stats: Pick<Stats, 'uid'>, uid: number | undefined): string | undefined {
  if (uid === undefined || stats.uid === uid || stats.uid === 0) return undefined;
  return `owned by another user (uid ${stats.uid}), neither this user (uid ${uid}) nor root`;
}

/** A file or directory that others than its owner can write, or that belongs to another user. */
export interface TrustFinding {
  path: string;
  /** `key file`, `history`, `clients file` or `directory`. */
  role: 'key file' | 'history' | 'clients file' | 'directory';
  problem: string;
}

/**
 * The files and directories that decide what the key file, its history and the clients file say, and that
 * others than their owner can write, or that belong to another user than the reader (root excepted): each
 * file (through its symlinks) and the directories holding its path and its target. Empty on Windows.
 * Missing paths are skipped; every operation is bounded by `reads`.
 */
export async function untrustedPaths(keyFile: string, options: Identity & { reads?: FileReads; clientsFile?: string } = {}): Promise<TrustFinding[]> {
  const { uid, posix } = resolveIdentity(options);
  if (!posix) return [];
  const reads = options.reads ?? new FileReads();
  const look = <T>(path: string, op: () => Promise<T>): Promise<T | undefined> =>
    reads.within(`trust:${path}`, op).catch((err: unknown) => {
      if (isErrnoCode(err, 'ENOENT', 'ENOTDIR', 'ELOOP')) return undefined;
      throw err;
    });
  const checks = new Map<string, TrustFinding['role']>();
  const files: Array<[string, TrustFinding['role']]> = [[keyFile, 'key file'], [historyPathFor(keyFile), 'history']];
  if (options.clientsFile !== undefined) files.push([options.clientsFile, 'clients file']);
  // The lookups run side by side: this runs on every reload, between a rename and the new key in force.
  const reals = await Promise.all(files.map(([file]) => look(file, () => realpath(file))));
  files.forEach(([file, role], i) => {
    checks.set(file, role);
    if (!checks.has(dirname(file))) checks.set(dirname(file), 'directory');
    const real = reals[i];
    if (real !== undefined && !checks.has(dirname(real))) checks.set(dirname(real), 'directory');
  });
  const entries = [...checks];
  const stats = await Promise.all(entries.map(([path]) => look(path, () => stat(path))));
  return entries.flatMap(([path, role], i) => {
    const problem = stats[i] && (othersCanWrite(stats[i]) ?? ownedByOther(stats[i], uid));
    return problem ? [{ path, role, problem }] : [];
  });
}

/** One line naming each finding, for logs and the CLI's warnings. */
export function describeFindings(findings: readonly TrustFinding[]): string {
  return findings.map((f) => `${f.role} ${f.path} is ${f.problem}`).join('; ');
}
