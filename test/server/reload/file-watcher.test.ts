import { expect } from 'chai';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { watchFiles, watchedPathsOf } from '../../../src/server/reload/file-watcher.js';
import { tempDir, waitFor } from './helpers.js';

// The key's watch machinery for any set of files, e.g. a certificate and its key kept in different directories.
describe('file watcher', function () {
  let cleanup: () => Promise<void>;
  let dir: string;

  beforeEach(async function () {
    ({ dir, cleanup } = await tempDir());
    await mkdir(join(dir, 'certs'));
    await mkdir(join(dir, 'private', 'keys'), { recursive: true });
  });
  afterEach(() => cleanup());

  it('roots a watch at each file\'s grandparent and lets through each path, ..data and the file', () => {
    const cert = join(dir, 'certs', 'tls.crt');
    const key = join(dir, 'private', 'keys', 'tls.key');
    const { roots, relevant } = watchedPathsOf([cert, key]);
    expect(roots.sort()).to.deep.equal([dir, join(dir, 'private')].sort());
    expect([...relevant].sort()).to.deep.equal([
      dir, join(dir, 'certs'), join(dir, 'certs', '..data'), cert,
      join(dir, 'private'), join(dir, 'private', 'keys'), join(dir, 'private', 'keys', '..data'), key,
    ].sort());
  });

  it('reports a change to either of two files in different directories', async function () {
    const cert = join(dir, 'certs', 'tls.crt');
    const key = join(dir, 'private', 'keys', 'tls.key');
    const triggers: string[] = [];
    const watcher = await watchFiles({ files: [cert, key], mode: 'events', backstopMs: 0, onChange: (t) => triggers.push(t) });
    try {
      await writeFile(`${key}.tmp`, 'key');
      await rename(`${key}.tmp`, key);
      await waitFor(() => triggers.some((t) => t.endsWith(':tls.key')), 'an event for the key');
      await writeFile(cert, 'cert');
      await waitFor(() => triggers.some((t) => t.endsWith(':tls.crt')), 'an event for the certificate');
      expect(triggers.filter((t) => t.includes('.tmp'))).to.deep.equal([]);
    } finally {
      await watcher.close();
    }
  });
});
