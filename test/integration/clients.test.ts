import { expect } from 'chai';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { tempDir } from '../helpers/server-process.js';
import type { ServerProcess } from '../helpers/server-process.js';
import { startUpstream } from '../proxy/harness.js';
import type { Upstream } from '../proxy/harness.js';
import { Latencies, acceptedWithin, accepts, keyFrom, logged, manageKey, metric, refusal, run, startServer } from './harness.js';

// Named keys end to end: the real CLI adds, rotates and removes them, the real server picks every change up
// through its watch, and a client over HTTP sees each one; the clients file is changed by real tools too.
const hasVim = spawnSync('sh', ['-c', 'command -v vim'], { stdio: 'ignore' }).status === 0;

interface ClientsHealth { active: number; expired: number; previousKeys: number; lastReload?: { outcome: string; reason?: string } }

describe('integration: named keys with the real CLI and server', function () {
  this.timeout(30_000);
  const latencies = new Latencies();
  let dir: string;
  let keyFile: string;
  let clientsFile: string;
  let cleanup: () => Promise<void>;
  let server: ServerProcess;
  let staticKey: string;

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    await mkdir(join(dir, 'api'));
    keyFile = join(dir, 'api', '.api_key');
    clientsFile = join(dir, 'api', '.api_clients');
    staticKey = await keyFrom(['generate'], dir);
    server = await startServer(keyFile, ['--log-level', 'http', '--grace', '0']);
  });
  after(async () => {
    await server?.stop();
    await cleanup?.();
    latencies.report('named keys (server process)');
  });

  const mtime = async () => (await stat(clientsFile)).mtimeMs;
  const clientsHealth = async (): Promise<ClientsHealth> => {
    const res = await fetch(`${server.url}/api/v1/health`, { headers: { 'X-API-Key': staticKey } });
    return ((await res.json()) as { clients: ClientsHealth }).clients;
  };

  it('accepts a key from manage-key add within moments, names its client in the access line and the metrics', async () => {
    const key = await keyFrom(['add', 'alice'], dir);
    latencies.add('manage-key add', await acceptedWithin(server, key, await mtime()));
    const from = server.lines().length;
    expect(await accepts(server, key)).to.equal(true);
    const line = await logged(server, from, (l) => l.message === 'request' && l.apiClient === 'alice');
    expect(line).to.include({ client: '127.0.0.1', status: 200 });
    expect(await metric(server, staticKey, 'qwen_client_requests_total{client="alice"}')).to.be.at.least(1);
    expect((await clientsHealth()).active).to.be.at.least(1);
    expect(await accepts(server, staticKey), 'the static key as before').to.equal(true);
  });

  it('cuts one client off with manage-key remove, as fast, and nobody else', async () => {
    const bob = await keyFrom(['add', 'bob'], dir);
    const carol = await keyFrom(['add', 'carol'], dir);
    await acceptedWithin(server, carol, await mtime());
    const done = await manageKey(['remove', 'bob'], dir);
    expect(done.code, done.stderr).to.equal(0);
    const removedAt = await mtime();
    const { at } = await refusal(server, bob, removedAt + 1500);
    latencies.add('manage-key remove (until refused)', at - removedAt);
    expect(at - removedAt).to.be.below(1000);
    expect([await accepts(server, carol), await accepts(server, staticKey)]).to.deep.equal([true, true]);
  });

  it('rotates a client with a window, then with --revoke', async () => {
    const first = await keyFrom(['add', 'dave'], dir);
    const second = await keyFrom(['rotate', 'dave', '--grace', '1h'], dir);
    latencies.add('manage-key rotate NAME', await acceptedWithin(server, second, await mtime()));
    expect(await accepts(server, first), 'old key inside its window').to.equal(true);
    expect((await clientsHealth()).previousKeys).to.be.at.least(1);
    const third = await keyFrom(['rotate', 'dave', '--revoke'], dir);
    await acceptedWithin(server, third, await mtime());
    expect([await accepts(server, first), await accepts(server, second)]).to.deep.equal([false, false]);
  });

  it('refuses a key once it expires', async () => {
    const key = await keyFrom(['add', 'brief', '--expires', '2s'], dir);
    const added = await mtime();
    await acceptedWithin(server, key, added);
    const { at } = await refusal(server, key, added + 4000);
    expect(at - added).to.be.within(1500, 3500);
  });

  it('keeps the last good set when the file turns bad (logged once, counted, in health), and takes it back when fixed', async () => {
    const key = await keyFrom(['add', 'erin'], dir);
    await acceptedWithin(server, key, await mtime());
    const good = await readFile(clientsFile);
    const from = server.lines().length;
    await writeFile(clientsFile, '{"version":1,"clients":[{"name":');
    await logged(server, from, (l) => l.message === 'clients file rejected; keeping the last good set' && l.level === 'error');
    expect(await accepts(server, key)).to.equal(true);
    expect(await metric(server, staticKey, 'qwen_clients_reloads_total{result="rejected"}')).to.be.at.least(1);
    expect((await clientsHealth()).lastReload).to.include({ outcome: 'rejected', reason: 'CLIENTS_INVALID' });
    await writeFile(clientsFile, good);
    await logged(server, from, (l) => l.message === 'clients file valid again');
    expect(server.lines().slice(from).filter((l) => l.level === 'error').length, 'one error line for the streak').to.equal(1);
  });

  it('picks up the clients file written by other tools: sed -i, sh redirection, an editor, delete and re-create', async () => {
    const key = await keyFrom(['add', 'frank'], dir);
    await acceptedWithin(server, key, await mtime());
    // Each tool renames frank in the file; the client holding frank's key must keep working under the new name.
    const steps: Array<[string, string, string[]]> = [
      ['sed -i (temp file + rename)', 'frank2', ['sed', '-i', '-e', 's/"frank"/"frank2"/', clientsFile]],
      ['sh -c "cat > file" (in place)', 'frank3', ['sh', '-c', 'sed -e \'s/"frank2"/"frank3"/\' "$1" > "$1.new" && cat "$1.new" > "$1" && rm "$1.new"', 'sh', clientsFile]],
      [hasVim ? 'vim :wq' : 'simulated editor save', 'frank4', hasVim
        ? ['vim', '-es', '-u', 'NONE', '-i', 'NONE', '-N', '-c', 'set backupskip=', '-c', '%s/"frank3"/"frank4"/', '-c', 'wq', clientsFile]
        : ['sh', '-c', 'mv "$1" "$1~" && sed -e \'s/"frank3"/"frank4"/\' "$1~" > "$1" && rm "$1~"', 'sh', clientsFile]],
      ['delete + re-create', 'frank5', ['sh', '-c', 'sed -e \'s/"frank4"/"frank5"/\' "$1" > "$1.new" && rm "$1" && mv "$1.new" "$1"', 'sh', clientsFile]],
    ];
    for (const [name, client, command] of steps) {
      const from = server.lines().length;
      const t = Date.now();
      expect(await run(command[0]!, command.slice(1)), name).to.equal(0);
      await logged(server, from, (l) => l.message === 'clients loaded');
      latencies.add(name, Date.now() - t);
      const seen = server.lines().length;
      expect(await accepts(server, key), name).to.equal(true);
      await logged(server, seen, (l) => l.message === 'request' && l.apiClient === client);
    }
  });

  it('means no named keys when the clients file is gone, with no error', async () => {
    const key = await keyFrom(['add', 'gina'], dir);
    await acceptedWithin(server, key, await mtime());
    const from = server.lines().length;
    await rename(clientsFile, `${clientsFile}.away`);
    await logged(server, from, (l) => l.message === 'clients file missing; no named keys');
    expect(await accepts(server, key)).to.equal(false);
    expect(server.lines().slice(from).filter((l) => l.level === 'error')).to.deep.equal([]);
    await rename(`${clientsFile}.away`, clientsFile);
    await acceptedWithin(server, key);
  });

  it('never prints a named key or its digest in any log line', () => {
    const text = server.stdout() + server.stderr();
    expect(/qwk_[A-Za-z0-9_-]{43}/.test(text)).to.equal(false);
    expect(/[0-9a-f]{64}/.test(text)).to.equal(false);
  });
});

describe('integration: the client\'s name to the backend', function () {
  this.timeout(30_000);
  let upstream: Upstream | undefined;
  let server: ServerProcess | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  after(async () => {
    await server?.stop();
    await upstream?.stop();
    await cleanup?.();
  });

  it('forwards X-Api-Client (or the --client-header name) with the authenticated client, never the one a client sent', async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    await mkdir(join(dir, 'api'));
    upstream = await startUpstream();
    const staticKey = await keyFrom(['generate'], dir);
    const alice = await keyFrom(['add', 'alice'], dir);
    server = await startServer(join(dir, 'api', '.api_key'), ['--upstream', upstream.url.href]);
    const echo = async (key: string, header = 'x-api-client') => {
      const res = await fetch(`${server!.url}/api/v1/edit`, { headers: { 'X-API-Key': key, [header]: 'admin' } });
      expect(res.status).to.equal(200);
      return ((await res.json()) as { headers: Record<string, string> }).headers;
    };
    expect((await echo(alice))['x-api-client']).to.equal('alice');
    expect((await echo(staticKey))['x-api-client']).to.equal('default');
    expect((await echo(alice))['x-api-key'], 'the key never reaches the backend').to.equal(undefined);
    await server.stop();
    server = await startServer(join(dir, 'api', '.api_key'), ['--upstream', upstream.url.href, '--client-header', 'X-Consumer']);
    expect((await echo(alice, 'x-consumer'))['x-consumer']).to.equal('alice');
  });
});
