import { createHash } from 'node:crypto';
import { readdirSync, readlinkSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyFileError } from '../../src/core/errors.js';

/** A fresh temporary directory, removed by the returned cleanup. */
export async function tempDir(prefix = 'qwen-key-'): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** What this process's open descriptors lead to inside `dir` (or to `dir` itself): a leak check that
 *  other descriptors opening and closing meanwhile (sockets, loaders) cannot disturb. Linux only: empty
 *  where /proc/self/fd does not exist. */
export function descriptorsInto(dir: string): string[] {
  let fds: string[];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return [];
  }
  const targets = fds.map((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      return ''; // closed between the listing and the look (the listing's own descriptor, say)
    }
  });
  return targets.filter((t) => t === dir || t.startsWith(`${dir}/`));
}

/** A digest of a directory's names and file contents: proof that nothing changed, without printing a key. */
export async function directoryDigest(dir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const name of (await readdir(dir)).sort()) hash.update(`${name}\0`).update(await readFile(join(dir, name))).update('\0');
  return hash.digest('hex');
}

/** Awaits `promise` and returns its KeyFileError code; fails when it resolves or throws anything else. */
export async function rejectionCode(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof KeyFileError) return err.code;
    throw new Error(`expected a KeyFileError, got ${(err as Error)?.name}: ${(err as Error)?.message}`);
  }
  throw new Error('expected a KeyFileError, but the call succeeded');
}

/** A deterministic random source: each call returns `size` bytes of the next counter value. */
export function counterRandom(): (size: number) => Buffer {
  let n = 0;
  return (size) => Buffer.alloc(size, ++n);
}
