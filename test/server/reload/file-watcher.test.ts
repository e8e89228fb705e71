import { expect } from 'chai';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { watchFiles, watchedPathsOf } from '../../../src/server/reload/file-watcher.js';
import { periods, tempDir, waitFor } from './helpers.js';

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

  it('names what it saw: chokidar\'s event and the raw one, each with the file\'s name, then the settle re-check', async function () {
    const file = join(dir, 'certs', 'tls.crt');
    const triggers: string[] = [];
    const watcher = await watchFiles({ files: [file], mode: 'events', backstopMs: 0, settleMs: 20, onChange: (t) => triggers.push(t) });
    try {
      await writeFile(file, 'cert');
      await waitFor(() => triggers.includes('settle'), 'the settle re-check');
      await waitFor(() => triggers.some((t) => /^(add|change):tls\.crt$/.test(t)), 'chokidar\'s own event');
      expect(triggers.some((t) => /^raw-(change|rename):tls\.crt$/.test(t)), triggers.join()).to.equal(true);
    } finally {
      await watcher.close();
    }
  });

  it('ignores a file of a watched name outside the watched paths', async function () {
    const file = join(dir, 'certs', 'tls.crt');
    const triggers: string[] = [];
    const watcher = await watchFiles({ files: [file], mode: 'events', backstopMs: 0, settleMs: 20, onChange: (t) => triggers.push(t) });
    try {
      // The root is watched (for the file's directory), but a ..data there is not the directory's ..data.
      await writeFile(join(dir, '..data'), 'elsewhere');
      await writeFile(file, 'cert');
      await waitFor(() => triggers.includes('settle'), 'the settle re-check');
      expect(triggers.filter((t) => t.includes('..data'))).to.deep.equal([]);
    } finally {
      await watcher.close();
    }
  });

  it('takes a plain write of the file as no change of its directory: no re-watch follows', async function () {
    const file = join(dir, 'certs', 'tls.crt');
    const triggers: string[] = [];
    const watcher = await watchFiles({ files: [file], mode: 'events', backstopMs: 0, settleMs: 20, onChange: (t) => triggers.push(t) });
    try {
      await writeFile(file, 'cert');
      await waitFor(() => triggers.includes('settle'), 'the settle re-check');
      await periods(20, 10);
      expect(triggers).to.not.include('rewatch');
    } finally {
      await watcher.close();
    }
  });

  it('watches afresh once its file\'s directory is removed and re-created, and says so', async function () {
    const file = join(dir, 'certs', 'tls.crt');
    const triggers: string[] = [];
    const watcher = await watchFiles({ files: [file], mode: 'events', backstopMs: 0, settleMs: 20, onChange: (t) => triggers.push(t) });
    try {
      await rm(join(dir, 'certs'), { recursive: true });
      await mkdir(join(dir, 'certs'));
      await waitFor(() => triggers.includes('rewatch'), 'the re-watch', 3000);
      const seen = triggers.length;
      await writeFile(file, 'cert');
      await waitFor(() => triggers.slice(seen).some((t) => t.endsWith(':tls.crt')), 'the file seen in the new directory', 3000);
    } finally {
      await watcher.close();
    }
  });

  it('in poll mode, reports a poll every 500 ms by default', async function () {
    const triggers: string[] = [];
    const watcher = await watchFiles({ files: [join(dir, 'certs', 'tls.crt')], mode: 'poll', onChange: (t) => triggers.push(t) });
    const started = performance.now();
    try {
      await waitFor(() => triggers.length > 0, 'the first poll', 3000, 10);
      expect(triggers).to.deep.equal(['poll']);
      expect(performance.now() - started).to.be.at.least(400);
    } finally {
      await watcher.close();
    }
  });

  it('keeps watching when its listener throws, without an error handler', async function () {
    const file = join(dir, 'certs', 'tls.crt');
    let calls = 0;
    const watcher = await watchFiles({ files: [file], mode: 'events', backstopMs: 0, settleMs: 20, onChange: () => { calls++; throw new Error('listener'); } });
    try {
      await writeFile(file, 'one');
      await waitFor(() => calls > 0, 'the first change');
      const before = calls;
      await writeFile(file, 'two');
      await waitFor(() => calls > before, 'a later change', 3000);
    } finally {
      await watcher.close();
    }
  });
});
