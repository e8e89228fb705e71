import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeClientsFile } from '../../../src/core/clients-file.js';
import { formatClients } from '../../../src/core/clients-format.js';
import type { ClientRecord } from '../../../src/core/clients-format.js';
import { digestOf } from '../../../src/core/key.js';
import { FileReads } from '../../../src/core/regular-file.js';
import { ClientsReloader } from '../../../src/server/reload/clients-reloader.js';
import { KeyStore } from '../../../src/server/reload/key-store.js';
import type { ReloadEvent } from '../../../src/server/reload/reload-record.js';
import { captureLogger, tempDir, waitFor } from './helpers.js';

const NOW = Date.UTC(2026, 10, 29, 10);
const record = (name: string, extra: Partial<ClientRecord> = {}): ClientRecord => ({ name, sha256: digestOf(`k-${name}`), created: new Date(NOW), ...extra });

describe('clients reloader', () => {
  let dir: string;
  let file: string;
  let cleanup: () => Promise<void>;
  let store: KeyStore;
  let log: ReturnType<typeof captureLogger>;
  let events: ReloadEvent[];
  let reloader: ClientsReloader;
  const accepted = (name: string) => store.verify(`k-${name}`)?.client === name;
  const errors = () => log.lines.filter((l) => l.level === 'error');

  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    await mkdir(join(dir, 'api'));
    file = join(dir, 'api', '.api_clients');
    store = new KeyStore({ clock: () => NOW });
    log = captureLogger();
    events = [];
    reloader = new ClientsReloader({
      clientsFile: file, store, graceMs: 0, maxGraceMs: 86_400_000, logger: log.logger, clock: () => NOW, retryMs: 10, onReload: (e) => events.push(e),
    });
  });
  afterEach(async () => {
    reloader.close();
    await cleanup();
  });

  it('loads the file and logs how many named keys, never a key or digest', async () => {
    await writeClientsFile(file, [record('alice'), record('bob', { expires: new Date(NOW - 1) })]);
    expect((await reloader.reload('initialise')).outcome).to.equal('loaded');
    expect(accepted('alice')).to.equal(true);
    const line = log.lines.find((l) => l.message === 'clients loaded')!;
    expect(line).to.include({ clients: 2, active: 1, expired: 1, previousKeys: 0, trigger: 'initialise' });
    expect(line.ms).to.be.a('number');
    expect(log.text()).to.not.include(digestOf('k-alice').slice(12));
  });

  it('reads a missing file as no named keys, quietly, changing nothing in the store', async () => {
    const version = store.version;
    const event = await reloader.reload('initialise');
    expect(event).to.deep.equal({ outcome: 'unchanged', trigger: 'initialise', at: new Date(NOW) });
    expect(store.version).to.equal(version);
    expect(log.lines).to.deep.equal([]);
  });

  it('says nothing more than the load when a good file is read again', async () => {
    await writeClientsFile(file, [record('alice')]);
    await reloader.reload('initialise');
    await reloader.reload('backstop');
    expect(log.lines.map((l) => l.message)).to.deep.equal(['clients loaded']);
    expect(log.lines[0]!.ms).to.be.within(0, 60_000);
  });

  it('reads through the FileReads it is given', async () => {
    let opened = 0;
    const counting = (async (...args: Parameters<typeof open>) => {
      opened++;
      return open(...args);
    }) as typeof open;
    await writeClientsFile(file, [record('alice')]);
    const own = new ClientsReloader({ clientsFile: file, store, graceMs: 0, maxGraceMs: 0, logger: log.logger, reads: new FileReads({ openFile: counting }) });
    await own.reload('initialise');
    expect(opened).to.equal(1);
  });

  it('cancels its pending re-check when closed', async () => {
    await writeClientsFile(file, [record('alice')]);
    await reloader.reload('initialise');
    await rm(file);
    await reloader.reload('unlink:.api_clients');
    reloader.close();
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(accepted('alice')).to.equal(true);
  });

  it('swaps nothing when the bytes did not change', async () => {
    await writeClientsFile(file, [record('alice')]);
    await reloader.reload('initialise');
    const version = store.version;
    expect((await reloader.reload('backstop')).outcome).to.equal('unchanged');
    expect(store.version).to.equal(version);
  });

  it('keeps the last good set when the file turns bad, and calls it an error only once the re-check agrees', async () => {
    await writeClientsFile(file, [record('alice')]);
    await reloader.reload('initialise');
    await writeFile(file, '{"version":1,"clients":[');
    const event = await reloader.reload('change:.api_clients');
    expect(event).to.include({ outcome: 'rejected', reason: 'CLIENTS_INVALID' });
    expect(errors()).to.deep.equal([]);
    await waitFor(() => errors().length === 1, 'the error after the re-check');
    expect(errors()[0]).to.include({ message: 'clients file rejected; keeping the last good set', reason: 'CLIENTS_INVALID', trigger: 'retry', clients: 1 });
    expect(accepted('alice')).to.equal(true);
    const seen = events.length;
    await reloader.reload('backstop');
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(events.length, 'no re-check scheduled for a reason already reported').to.equal(seen + 1);
    expect(errors(), 'once per streak').to.have.length(1);
  });

  it('reports the same fault again once a good file came between', async () => {
    await writeClientsFile(file, [record('alice')]);
    await reloader.reload('initialise');
    await writeFile(file, 'not json');
    await reloader.reload('retry');
    await writeClientsFile(file, [record('bob')]);
    await reloader.reload('change');
    await writeFile(file, 'still not json');
    await reloader.reload('retry');
    expect(errors().map((l) => l.reason)).to.deep.equal(['CLIENTS_INVALID', 'CLIENTS_INVALID']);
  });

  it('says when the file is good again, and loads a changed good file', async () => {
    await writeClientsFile(file, [record('alice')]);
    await reloader.reload('initialise');
    const good = formatClients([record('alice')]);
    await writeFile(file, 'not json');
    await reloader.reload('retry');
    await writeFile(file, good);
    expect((await reloader.reload('change')).outcome).to.equal('unchanged');
    expect(log.lines.some((l) => l.message === 'clients file valid again')).to.equal(true);
    await writeClientsFile(file, [record('bob')]);
    await reloader.reload('change');
    expect([accepted('alice'), accepted('bob')]).to.deep.equal([false, true]);
  });

  it('ends every named key once a removed file stays removed, not at the first look', async () => {
    await writeClientsFile(file, [record('alice')]);
    await reloader.reload('initialise');
    await rm(file);
    expect((await reloader.reload('unlink:.api_clients')).outcome).to.equal('unchanged');
    expect(accepted('alice'), 'kept until the re-check').to.equal(true);
    await waitFor(() => !accepted('alice'), 'named keys gone after the re-check');
    expect(log.lines.find((l) => l.message === 'clients file missing; no named keys')).to.include({ level: 'info', trigger: 'retry' });
    expect(events.at(-1)).to.include({ outcome: 'loaded', trigger: 'retry' });
    expect(errors()).to.deep.equal([]);
  });

  it('keeps the set when a removed file comes back before the re-check', async () => {
    // A re-check late enough that the file is surely back on a busy machine; the test waits for it.
    reloader.close();
    reloader = new ClientsReloader({
      clientsFile: file, store, graceMs: 0, maxGraceMs: 86_400_000, logger: log.logger, clock: () => NOW, retryMs: 300, onReload: (e) => events.push(e),
    });
    await writeClientsFile(file, [record('alice')]);
    await reloader.reload('initialise');
    await rm(file);
    await reloader.reload('unlink:.api_clients');
    await writeClientsFile(file, [record('alice')]);
    await reloader.reload('add:.api_clients');
    await waitFor(() => events.some((e) => e.trigger === 'retry'), 'the re-check');
    expect(accepted('alice')).to.equal(true);
    expect(log.lines.some((l) => l.message === 'clients file missing; no named keys')).to.equal(false);
  });

  it('refuses a FIFO at once as CLIENTS_NOT_REGULAR, keeping the set', async function () {
    await writeClientsFile(file, [record('alice')]);
    await reloader.reload('initialise');
    await rm(file);
    if (spawnSync('mkfifo', [file]).status !== 0) this.skip();
    expect(await reloader.reload('retry')).to.include({ outcome: 'rejected', reason: 'CLIENTS_NOT_REGULAR' });
    expect(accepted('alice')).to.equal(true);
  });

  it('names a failure to read by its system error, keeping the set', async () => {
    await writeClientsFile(file, [record('alice')]);
    await reloader.reload('initialise');
    const long = new ClientsReloader({ clientsFile: join(dir, 'x'.repeat(300)), store, graceMs: 0, maxGraceMs: 0, logger: log.logger });
    expect(await long.reload('retry')).to.include({ outcome: 'rejected', reason: 'ENAMETOOLONG' });
    expect(accepted('alice')).to.equal(true);
  });

  it('reports a window cut to --max-grace', async () => {
    await writeClientsFile(file, [record('a', { previous: { sha256: digestOf('old'), rotated: new Date(NOW), until: new Date(NOW + 30 * 86_400_000) } })]);
    await reloader.reload('initialise');
    expect(log.lines.find((l) => l.message === 'client windows longer than --max-grace; cut to it')).to.include({ level: 'error', count: 1, maxGrace: '1d' });
  });

  it('tells its listener of every re-read and keeps the last that did something for health', async () => {
    await writeClientsFile(file, [record('alice')]);
    await reloader.reload('initialise');
    await reloader.reload('backstop');
    expect(events.map((e) => e.outcome)).to.deep.equal(['loaded', 'unchanged']);
    expect(reloader.lastReload).to.include({ outcome: 'loaded', trigger: 'initialise' });
  });
});
