import { expect } from 'chai';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addClient, removeClient, rotateClient } from '../../src/core/client-ops.js';
import { clientsPathFor, readClientsFile } from '../../src/core/clients-file.js';
import { historyPathFor } from '../../src/core/history.js';
import { readHistory } from '../../src/core/history-file.js';
import { deriveState } from '../../src/core/history-state.js';
import { digestOf, fingerprint } from '../../src/core/key.js';
import { generateKeyFile, rotateKeyFile } from '../../src/core/key-ops.js';
import { directoryDigest, rejectionCode, tempDir } from './helpers.js';

const T0 = new Date('2026-11-29T10:00:00.000Z');
const DAY = 86_400_000;

describe('client-ops', () => {
  let dir: string;
  let keyFile: string;
  let clientsFile: string;
  let cleanup: () => Promise<void>;
  let now = T0;
  const clock = () => now;
  const base = () => ({ keyFile, clientsFile, clock });
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    keyFile = join(dir, 'api', '.api_key');
    clientsFile = clientsPathFor(keyFile);
    now = T0;
  });
  afterEach(() => cleanup());

  describe('addClient', () => {
    it('creates the directory and a 0600 clients file holding the key\'s digest, never the key', async () => {
      const { key, record } = await addClient({ ...base(), name: 'alice' });
      expect(key).to.match(/^qwk_[A-Za-z0-9_-]{43}$/);
      expect(record).to.deep.equal({ name: 'alice', sha256: digestOf(key), created: T0 });
      const text = await readFile(clientsFile, 'utf8');
      expect(text.includes(key), 'the key is in the clients file').to.equal(false);
      expect(text.includes(key.slice(4))).to.equal(false);
      expect(text.includes(digestOf(key))).to.equal(true);
      if (process.platform !== 'win32') expect((await stat(clientsFile)).mode & 0o777).to.equal(0o600);
    });

    it('logs Client added (NAME) with the fingerprint in the Key column, expiry in the action', async () => {
      const { key } = await addClient({ ...base(), name: 'alice', expiresMs: 30 * DAY });
      const { entries } = await readHistory(historyPathFor(keyFile));
      expect(entries).to.deep.equal([{ time: new Date(T0.getTime() - (T0.getTime() % 1000)), action: 'Client added (alice, expires 2026-12-29T10:00:00.000Z)', key: fingerprint(key) }]);
      expect((await readClientsFile(clientsFile))![0]!.expires).to.deep.equal(new Date(T0.getTime() + 30 * DAY));
    });

    it('keeps earlier clients and refuses a name that exists (CLIENT_EXISTS), changing nothing', async () => {
      await addClient({ ...base(), name: 'alice' });
      await addClient({ ...base(), name: 'bob' });
      const before = await directoryDigest(join(dir, 'api'));
      expect(await rejectionCode(addClient({ ...base(), name: 'alice' }))).to.equal('CLIENT_EXISTS');
      expect(await directoryDigest(join(dir, 'api'))).to.equal(before);
      expect((await readClientsFile(clientsFile))!.map((r) => r.name)).to.deep.equal(['alice', 'bob']);
    });

    it('refuses to overwrite a clients file it cannot read (CLIENTS_INVALID)', async () => {
      await mkdir(join(dir, 'api'));
      await writeFile(clientsFile, '{"version":1,', { mode: 0o600 });
      expect(await rejectionCode(addClient({ ...base(), name: 'alice' }))).to.equal('CLIENTS_INVALID');
      expect(await readFile(clientsFile, 'utf8')).to.equal('{"version":1,');
    });

    it('leaves the static key and its history state alone', async () => {
      const staticKey = await generateKeyFile({ keyFile, clock });
      await addClient({ ...base(), name: 'alice' });
      const state = deriveState((await readHistory(historyPathFor(keyFile))).entries);
      expect(state.current?.key === staticKey).to.equal(true);
    });

    it('adds concurrently without losing a client or a history line', async () => {
      const names = Array.from({ length: 8 }, (_, i) => `c${i}`);
      await Promise.all(names.map((name) => addClient({ ...base(), name })));
      expect((await readClientsFile(clientsFile))!.map((r) => r.name).sort()).to.deep.equal(names);
      expect((await readHistory(historyPathFor(keyFile))).entries).to.have.length(8);
    });

    it('refuses a clients file of another user\'s directory layout it cannot trust (KEY_UNTRUSTED)', async function () {
      if (process.platform === 'win32') this.skip();
      await mkdir(join(dir, 'api'));
      await chmod(join(dir, 'api'), 0o777);
      expect(await rejectionCode(addClient({ ...base(), name: 'alice' }))).to.equal('KEY_UNTRUSTED');
    });
  });

  describe('removeClient', () => {
    it('drops the client and logs Client removed (NAME) with its fingerprint', async () => {
      const { key } = await addClient({ ...base(), name: 'alice' });
      await addClient({ ...base(), name: 'bob' });
      const removed = await removeClient({ ...base(), name: 'alice' });
      expect(removed.name).to.equal('alice');
      expect((await readClientsFile(clientsFile))!.map((r) => r.name)).to.deep.equal(['bob']);
      const last = (await readHistory(historyPathFor(keyFile))).entries.at(-1)!;
      expect([last.action, last.key]).to.deep.equal(['Client removed (alice)', fingerprint(key)]);
    });

    it('refuses an unknown name (CLIENT_UNKNOWN), with no clients file at all too', async () => {
      expect(await rejectionCode(removeClient({ ...base(), name: 'alice' }))).to.equal('CLIENT_UNKNOWN');
      await addClient({ ...base(), name: 'bob' });
      expect(await rejectionCode(removeClient({ ...base(), name: 'alice' }))).to.equal('CLIENT_UNKNOWN');
    });
  });

  describe('rotateClient', () => {
    it('gives a new key, keeps the old one as previous for the server\'s grace, and logs both by fingerprint', async () => {
      const { key: old } = await addClient({ ...base(), name: 'alice' });
      now = new Date(T0.getTime() + DAY);
      const { key, record, replaced } = await rotateClient({ ...base(), name: 'alice' });
      expect(key).to.not.equal(old);
      expect(replaced.sha256).to.equal(digestOf(old));
      expect(record).to.deep.equal({ name: 'alice', sha256: digestOf(key), created: now, previous: { sha256: digestOf(old), rotated: now } });
      const lines = (await readHistory(historyPathFor(keyFile))).entries.slice(1).map((e) => [e.action, e.key]);
      expect(lines).to.deep.equal([['Client replaced (alice)', fingerprint(old)], ['Client rotated (alice)', fingerprint(key)]]);
    });

    it('records --grace as the old key\'s end, in the file and in the history', async () => {
      const { key: old } = await addClient({ ...base(), name: 'alice' });
      const { record } = await rotateClient({ ...base(), name: 'alice', graceMs: 3_600_000 });
      const until = new Date(T0.getTime() + 3_600_000);
      expect(record.previous).to.deep.equal({ sha256: digestOf(old), rotated: T0, until });
      const replaced = (await readHistory(historyPathFor(keyFile))).entries[1]!;
      expect(replaced.action).to.equal(`Client replaced (alice, grace until ${until.toISOString()})`);
    });

    it('keeps no previous key with --revoke', async () => {
      await addClient({ ...base(), name: 'alice' });
      const { record } = await rotateClient({ ...base(), name: 'alice', revoke: true });
      expect(record.previous).to.equal(undefined);
      expect((await readHistory(historyPathFor(keyFile))).entries[1]!.action).to.equal('Client replaced (alice, revoked)');
    });

    it('changes only the client it rotates', async () => {
      await addClient({ ...base(), name: 'alice' });
      const { record: bob } = await addClient({ ...base(), name: 'bob' });
      await rotateClient({ ...base(), name: 'alice' });
      expect((await readClientsFile(clientsFile))![1]).to.deep.equal(bob);
    });

    it('keeps only the immediately previous key: a second rotation ends the first key', async () => {
      const { key: first } = await addClient({ ...base(), name: 'alice' });
      const { key: second } = await rotateClient({ ...base(), name: 'alice', graceMs: 60_000 });
      const { record } = await rotateClient({ ...base(), name: 'alice', graceMs: 60_000 });
      expect(record.previous?.sha256).to.equal(digestOf(second));
      expect(JSON.stringify(await readClientsFile(clientsFile))).to.not.include(digestOf(first));
    });

    it('keeps the client\'s expiry, or sets a new one from now with expiresMs', async () => {
      await addClient({ ...base(), name: 'alice', expiresMs: 10 * DAY });
      expect((await rotateClient({ ...base(), name: 'alice' })).record.expires).to.deep.equal(new Date(T0.getTime() + 10 * DAY));
      now = new Date(T0.getTime() + DAY);
      const { record } = await rotateClient({ ...base(), name: 'alice', expiresMs: 30 * DAY });
      expect(record.expires).to.deep.equal(new Date(now.getTime() + 30 * DAY));
      expect((await readHistory(historyPathFor(keyFile))).entries.at(-1)!.action).to.equal(`Client rotated (alice, expires ${record.expires!.toISOString()})`);
    });

    it('refuses to rotate an expired client without a new lifetime (CLIENT_EXPIRED)', async () => {
      await addClient({ ...base(), name: 'alice', expiresMs: DAY });
      now = new Date(T0.getTime() + DAY);
      let message = '';
      await rotateClient({ ...base(), name: 'alice' }).catch((err: Error) => (message = err.message));
      expect(message).to.equal(`client alice expired on ${now.toISOString()}; rotate it with --expires D for a new lifetime, or remove it`);
      expect((await rotateClient({ ...base(), name: 'alice', expiresMs: DAY })).record.expires).to.deep.equal(new Date(now.getTime() + DAY));
    });

    it('refuses an unknown name (CLIENT_UNKNOWN)', async () => {
      expect(await rejectionCode(rotateClient({ ...base(), name: 'nobody' }))).to.equal('CLIENT_UNKNOWN');
    });

    it('leaves the static key\'s rotation chain intact around it', async () => {
      const first = await generateKeyFile({ keyFile, clock });
      await addClient({ ...base(), name: 'alice' });
      const { key: second } = await rotateKeyFile({ keyFile, clock, graceMs: 60_000 });
      await rotateClient({ ...base(), name: 'alice' });
      const state = deriveState((await readHistory(historyPathFor(keyFile))).entries);
      expect(state.current?.key === second).to.equal(true);
      expect(state.previous?.key === first).to.equal(true);
    });
  });

  it('takes the history lines back when the clients file cannot be written', async () => {
    await generateKeyFile({ keyFile, clock });
    const before = await readFile(historyPathFor(keyFile), 'utf8');
    const replace = () => Promise.reject(Object.assign(new Error('no space left on device'), { code: 'ENOSPC' }));
    expect(await rejectionCode(addClient({ ...base(), name: 'alice', replace }))).to.equal('CLIENTS_WRITE_FAILED');
    expect(await readFile(historyPathFor(keyFile), 'utf8')).to.equal(before);
    expect(await readClientsFile(clientsFile)).to.equal(undefined);
  });
});
