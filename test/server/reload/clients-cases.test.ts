import { expect } from 'chai';
import { copyFile, mkdir, open, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { addClient, removeClient, rotateClient } from '../../../src/core/client-ops.js';
import { clientsPathFor, writeClientsFile } from '../../../src/core/clients-file.js';
import { formatClients } from '../../../src/core/clients-format.js';
import type { ClientRecord } from '../../../src/core/clients-format.js';
import { digestOf, generateKey } from '../../../src/core/key.js';
import { writeKeyFile } from '../../../src/core/key-file.js';
import { Latencies, pause, startClientsHotReload, tempDir, waitFor } from './helpers.js';
import type { ClientsHotReload } from './helpers.js';

// Every way the clients file really changes, against the real file system and the key file's watch.
// The backstop is off, so each pickup is the watch's doing.
describe('hot reload: every way the clients file changes', function () {
  const latencies = new Latencies();
  let cleanup: () => Promise<void>;
  let dir: string;
  let keyFile: string;
  let clientsFile: string;
  let hot: ClientsHotReload;
  const records: ClientRecord[] = [];

  /** A record for a fresh key, and the key. */
  const fresh = (name: string): { key: string; record: ClientRecord } => {
    const key = generateKey();
    return { key, record: { name, sha256: digestOf(key), created: new Date() } };
  };
  const owner = (key: string) => hot.store.verify(key)?.client;
  const pickedUp = async (name: string, key: string, client: string, since: number) => {
    await waitFor(() => owner(key) === client, `${name}: ${client}'s key accepted`);
    latencies.add(name, performance.now() - since);
  };
  const dropped = async (name: string, key: string, since: number) => {
    await waitFor(() => owner(key) === undefined, `${name}: key refused`);
    latencies.add(name, performance.now() - since);
  };

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    keyFile = join(dir, 'api', '.api_key');
    clientsFile = clientsPathFor(keyFile);
    await mkdir(join(dir, 'api'));
    await writeKeyFile(keyFile, generateKey());
    records.length = 0;
    hot = await startClientsHotReload(keyFile);
  });
  afterEach(async () => {
    await hot.close();
    await cleanup();
  });
  after(() => latencies.report('clients file hot reload'));

  it('manage-key\'s add, rotate and remove (atomic rename under the lock)', async () => {
    for (let i = 0; i < 5; i++) {
      let t = performance.now();
      const { key } = await addClient({ keyFile, clientsFile, name: `c${i}` });
      await pickedUp('add (addClient)', key, `c${i}`, t);
      t = performance.now();
      const rotated = await rotateClient({ keyFile, clientsFile, name: `c${i}`, revoke: true });
      await pickedUp('rotate --revoke (rotateClient)', rotated.key, `c${i}`, t);
      await waitFor(() => owner(key) === undefined, 'revoked key refused');
      t = performance.now();
      await removeClient({ keyFile, clientsFile, name: `c${i}` });
      await dropped('remove (removeClient)', rotated.key, t);
    }
    expect(hot.log.lines.filter((l) => l.level === 'error')).to.deep.equal([]);
  });

  it('a foreign temp file renamed over it', async () => {
    for (let i = 0; i < 5; i++) {
      const { key, record } = fresh(`t${i}`);
      records.push(record);
      await writeFile(`${clientsFile}.tmp`, formatClients(records), { mode: 0o600 });
      const t = performance.now();
      await rename(`${clientsFile}.tmp`, clientsFile);
      await pickedUp('foreign temp file + rename', key, `t${i}`, t);
    }
  });

  it('an in-place rewrite, and a truncate, pause, write whose empty moment is never taken for no clients', async () => {
    const first = fresh('a');
    await writeFile(clientsFile, formatClients([first.record]));
    await pickedUp('in-place O_TRUNC + write', first.key, 'a', performance.now());
    for (let i = 0; i < 3; i++) {
      const next = fresh(`b${i}`);
      const handle = await open(clientsFile, 'r+');
      let t = 0;
      try {
        const seen = hot.events.length;
        await handle.truncate(0);
        await waitFor(() => hot.events.length > seen, 'the truncate seen');
        await pause(20);
        expect(owner(first.key), 'last good set kept while the file is empty').to.equal('a');
        t = performance.now();
        await handle.write(formatClients([first.record, next.record]), 0);
      } finally {
        await handle.close();
      }
      await pickedUp('truncate, 20 ms, write', next.key, `b${i}`, t);
    }
    expect(hot.log.lines.filter((l) => l.level === 'error'), 'no error for a write in progress').to.deep.equal([]);
  });

  it('a large file rewritten in place in chunks is never half loaded', async () => {
    const many = Array.from({ length: 3000 }, (_, i) => fresh(`n${i}`));
    const bytes = formatClients(many.map((m) => m.record));
    const handle = await open(clientsFile, 'w');
    const t = performance.now();
    try {
      for (let at = 0; at < bytes.length; at += 16 * 1024) {
        await handle.write(bytes.subarray(at, at + 16 * 1024), 0, undefined, at);
        await pause(1);
      }
    } finally {
      await handle.close();
    }
    await pickedUp('3,000 keys written in 16 KiB pieces', many.at(-1)!.key, 'n2999', t);
    expect(hot.store.clients.size).to.equal(3000);
    expect(hot.events.filter((e) => e.outcome === 'loaded').length, 'loaded only whole').to.equal(1);
  });

  it('delete and re-create, at once and after a pause; deleted for good means no named keys', async () => {
    const first = fresh('a');
    await writeClientsFile(clientsFile, [first.record]);
    await pickedUp('first write', first.key, 'a', performance.now());
    const next = fresh('b');
    let t = performance.now();
    await unlink(clientsFile);
    await writeClientsFile(clientsFile, [first.record, next.record]);
    await pickedUp('delete + immediate re-create', next.key, 'b', t);
    expect(owner(first.key)).to.equal('a');
    t = performance.now();
    await unlink(clientsFile);
    await dropped('delete (named keys end after the re-check)', next.key, t);
    expect(owner(first.key)).to.equal(undefined);
  });

  it('an editor\'s save (rename to backup, write new, delete backup)', async () => {
    const first = fresh('a');
    await writeClientsFile(clientsFile, [first.record]);
    await pickedUp('first write', first.key, 'a', performance.now());
    for (let i = 0; i < 3; i++) {
      const next = fresh(`e${i}`);
      const t = performance.now();
      await rename(clientsFile, `${clientsFile}~`);
      await writeFile(clientsFile, formatClients([first.record, next.record]), { mode: 0o600 });
      await unlink(`${clientsFile}~`);
      await pickedUp('vim-style save', next.key, `e${i}`, t);
      expect(owner(first.key), 'the others never dropped').to.equal('a');
    }
  });

  it('a Kubernetes Secret volume swapping its ..data link', async () => {
    await hot.close();
    const volume = join(dir, 'secret');
    const secretKey = join(volume, '.api_key');
    const publish = async (serial: number, list: ClientRecord[]): Promise<void> => {
      const payload = join(volume, `..2026_11_29_10_00_0${serial}.000000001`);
      await mkdir(payload, { recursive: true });
      await copyFile(keyFile, join(payload, '.api_key'));
      await writeFile(join(payload, '.api_clients'), formatClients(list));
      if (serial === 0) {
        await symlink(payload, join(volume, '..data'));
        await symlink('..data/.api_key', secretKey);
        await symlink('..data/.api_clients', join(volume, '.api_clients'));
        return;
      }
      await symlink(payload, join(volume, '..data_tmp'));
      await rename(join(volume, '..data_tmp'), join(volume, '..data'));
    };
    const first = fresh('a');
    await publish(0, [first.record]);
    hot = await startClientsHotReload(secretKey);
    expect(owner(first.key)).to.equal('a');
    const next = fresh('b');
    let t = performance.now();
    await publish(1, [first.record, next.record]);
    await pickedUp('..data swap: a client added', next.key, 'b', t);
    t = performance.now();
    await publish(2, [next.record]);
    await dropped('..data swap: a client removed', first.key, t);
    expect(owner(next.key)).to.equal('b');
  });

  it('the key directory removed and re-created', async () => {
    const first = fresh('a');
    await writeClientsFile(clientsFile, [first.record]);
    await pickedUp('first write', first.key, 'a', performance.now());
    await rm(join(dir, 'api'), { recursive: true });
    await mkdir(join(dir, 'api'));
    const next = fresh('b');
    const t = performance.now();
    await writeClientsFile(clientsFile, [next.record]);
    await pickedUp('directory removed + re-created', next.key, 'b', t);
  });

  it('a clients file kept in another directory, seen by the same watch', async () => {
    await hot.close();
    const elsewhere = join(dir, 'other', 'clients', '.api_clients');
    await mkdir(join(dir, 'other', 'clients'), { recursive: true });
    hot = await startClientsHotReload(keyFile, { clientsFile: elsewhere });
    const next = fresh('far');
    const t = performance.now();
    await writeClientsFile(elsewhere, [next.record]);
    await pickedUp('clients file in another directory', next.key, 'far', t);
  });
});
