import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clientsPathFor, readClientsFile, writeClientsFile } from '../../src/core/clients-file.js';
import { MAX_CLIENTS_FILE_BYTES, formatClients } from '../../src/core/clients-format.js';
import type { ClientRecord } from '../../src/core/clients-format.js';
import { KeyFileError } from '../../src/core/errors.js';
import { rejectionCode, tempDir } from './helpers.js';

const D1 = 'a'.repeat(64);
const D2 = 'b'.repeat(64);
const D3 = 'c'.repeat(64);
const T = new Date('2026-11-29T10:00:00.000Z');
const later = new Date('2026-12-29T10:00:00.000Z');

const alice: ClientRecord = { name: 'alice', sha256: D1, created: T };
const bob: ClientRecord = { name: 'bob', sha256: D2, created: T, expires: later, previous: { sha256: D3, rotated: T, until: later } };

describe('clients file', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    await mkdir(join(dir, 'api'), { mode: 0o700 });
  });
  afterEach(() => cleanup());

  it('lives beside the key file as .api_clients', () => {
    expect(clientsPathFor(join('srv', 'api', '.api_key'))).to.equal(join('srv', 'api', '.api_clients'));
  });

  it('reads a missing file as no clients (undefined), not an error', async () => {
    expect(await readClientsFile(join(dir, 'api', '.api_clients'))).to.equal(undefined);
    expect(await readClientsFile(join(dir, 'none', '.api_clients'))).to.equal(undefined);
    await writeFile(join(dir, 'file'), '');
    expect(await readClientsFile(join(dir, 'file', '.api_clients')), 'a path through a file (ENOTDIR)').to.equal(undefined);
  });

  it('writes 0600 whatever the umask, and reads back what it wrote', async function () {
    if (process.platform === 'win32') this.skip();
    const path = join(dir, 'api', '.api_clients');
    const saved = process.umask(0o000);
    try {
    await writeClientsFile(path, [alice, bob]);
    } finally {
    process.umask(saved);
    }
    expect((await stat(path)).mode & 0o777).to.equal(0o600);
    expect(await readClientsFile(path)).to.deep.equal([alice, bob]);
  });

  it('tightens a looser file to 0600 by replacing it', async function () {
    if (process.platform === 'win32') this.skip();
    const path = join(dir, 'api', '.api_clients');
    await writeFile(path, formatClients([]), { mode: 0o644 });
    await writeClientsFile(path, [alice]);
    expect((await stat(path)).mode & 0o777).to.equal(0o600);
  });

  it('refuses a FIFO at once (KEY_NOT_REGULAR) instead of waiting for a writer', async function () {
    const path = join(dir, 'api', '.api_clients');
    if (spawnSync('mkfifo', [path]).status !== 0) this.skip();
    expect(await rejectionCode(readClientsFile(path))).to.equal('KEY_NOT_REGULAR');
  });

  it('refuses a file over the limit without reading past it', async () => {
    const path = join(dir, 'api', '.api_clients');
    await writeFile(path, Buffer.alloc(MAX_CLIENTS_FILE_BYTES + 10, 0x20));
    expect(await rejectionCode(readClientsFile(path))).to.equal('CLIENTS_TOO_LARGE');
  });

  it('fails a write it cannot make with CLIENTS_WRITE_FAILED naming the clients file', async () => {
    const path = join(dir, 'missing', '.api_clients');
    let message = '';
    await writeClientsFile(path, [alice]).catch((err: KeyFileError) => (message = `${err.code}: ${err.message}`));
    expect(message).to.match(/^CLIENTS_WRITE_FAILED: cannot write clients file .*missing/);
  });
  });
