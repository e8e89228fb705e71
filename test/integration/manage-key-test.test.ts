import { expect } from 'chai';
import { mkdir } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '../helpers/server-process.js';
import type { ServerProcess } from '../helpers/server-process.js';
import { acceptedWithin, keyFrom, manageKey, startServer } from './harness.js';

// `manage-key test --url` against the real server: the last step of a rotation, as an operator runs it.
describe('integration: manage-key test against the real server', function () {
  this.timeout(20_000);
  let server: ServerProcess | undefined;
  let cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
    cleanups = [];
  });
  const keyDir = async () => {
    const { dir, cleanup } = await tempDir();
    cleanups.push(cleanup);
    await mkdir(join(dir, 'api'), { mode: 0o700 });
    return { dir, keyFile: join(dir, 'api', '.api_key') };
  };

  it('exits 0 when the server accepts the key (and, inside a window, the previous one), 1 otherwise, with a clear line', async () => {
    const ours = await keyDir();
    const keys = [await keyFrom(['generate'], ours.dir)];
    server = await startServer(ours.keyFile);
    cleanups.push(() => server!.stop());
    const test = async (cwd: string) => {
      const done = await manageKey(['test', '--previous', '--url', server!.url], cwd);
      // Checked first, so that no later assertion message can print a key.
      expect(keys.some((key) => (done.stdout + done.stderr).includes(key)), 'a full key in manage-key test output').to.equal(false);
      return done;
    };

    const plain = await test(ours.dir);
    expect(plain.code, plain.stderr).to.equal(0);
    expect(plain.stdout).to.match(/^ok +current key sha256:[0-9a-f]{12}: accepted \(HTTP 200\)$/m);
    expect(plain.stdout).to.include('answers as the key files say');

    keys.push(await keyFrom(['rotate', '--grace', '1h'], ours.dir));
    await acceptedWithin(server, keys[1]!, Date.now(), 2000);
    const inWindow = await test(ours.dir);
    expect(inWindow.code, inWindow.stderr).to.equal(0);
    expect(inWindow.stdout).to.match(/^ok +current key .*accepted/m);
    expect(inWindow.stdout).to.match(/^ok +previous key \(valid until [^)]+\) sha256:[0-9a-f]{12}: accepted/m);

    keys.push(await keyFrom(['rotate', '--revoke'], ours.dir));
    await acceptedWithin(server, keys[2]!, Date.now(), 2000);
    const revoked = await test(ours.dir);
    expect(revoked.code, revoked.stderr).to.equal(0);
    expect(revoked.stdout).to.match(/^ok +previous key \(revoked\) sha256:[0-9a-f]{12}: rejected \(HTTP 401\)/m);

    // Key files that are not the server's: the current key is refused.
    const other = await keyDir();
    keys.push(await keyFrom(['generate'], other.dir));
    const stranger = await test(other.dir);
    expect(stranger.code).to.equal(1);
    expect(stranger.stdout).to.match(/^FAIL current key sha256:[0-9a-f]{12}: rejected \(HTTP 401; expected accepted\)$/m);
    expect(stranger.stderr).to.match(/^manage-key: the server at http:\/\/127\.0\.0\.1:\d+\/ does not answer as the key files say: current key rejected\n$/);

    // The server has gone away: nothing listens on its port any more.
    await server.stop();
    const gone = await test(ours.dir);
    expect(gone.code).to.equal(1);
    expect(gone.stdout).to.match(/^FAIL current key sha256:[0-9a-f]{12}: unreachable \(ECONNREFUSED\)$/m);
    expect(gone.stderr).to.match(/^manage-key: cannot reach the server at http:\/\/127\.0\.0\.1:\d+\/ \(ECONNREFUSED; is the server running at that --url\?\)\n$/);
  });

  // Regression: with the server on another port (PORT=N for both), test still asked 127.0.0.1:8000.
  it('finds the server by the PORT and HOST it was started with when --url is not given', async () => {
    const ours = await keyDir();
    const key = await keyFrom(['generate'], ours.dir);
    server = await startServer(ours.keyFile);
    cleanups.push(() => server!.stop());
    const done = await manageKey(['test'], ours.dir, { PORT: String(server.port), HOST: '0.0.0.0' });
    expect((done.stdout + done.stderr).includes(key), 'the key in manage-key test output').to.equal(false);
    expect(done.code, done.stderr).to.equal(0);
    expect(done.stdout).to.include(`The server at http://127.0.0.1:${server.port}/ answers as the key files say.`);
  });

  // Regression: fetch followed a redirect to another origin, X-API-Key and all.
  it('never follows a redirect: a server answering 302 to another origin never hands that origin the key', async () => {
    const ours = await keyDir();
    const keys = [await keyFrom(['generate'], ours.dir)];
    keys.push(await keyFrom(['rotate', '--grace', '1h'], ours.dir));
    const received: string[] = [];
    const listen = async (handler: Parameters<typeof createServer>[1]): Promise<{ server: Server; url: string }> => {
      const http = createServer(handler);
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      return { server: http, url: `http://127.0.0.1:${(http.address() as AddressInfo).port}` };
    };
    const stranger = await listen((req, res) => {
      received.push(String(req.headers['x-api-key'] ?? ''));
      res.end('{}');
    });
    const redirecting = await listen((_req, res) => {
      res.writeHead(302, { Location: `${stranger.url}/api/v1/health` }).end();
    });
    try {
      for (const args of [['test'], ['test', '--previous']]) {
        const done = await manageKey([...args, '--url', redirecting.url], ours.dir);
        expect(keys.some((key) => (done.stdout + done.stderr).includes(key)), 'a full key in manage-key test output').to.equal(false);
        expect(done.code).to.equal(1);
        expect(done.stdout).to.match(/^FAIL current key sha256:[0-9a-f]{12}: unexpected \(HTTP 302, a redirect, not followed; expected accepted\)$/m);
      }
      expect(received.length, 'requests that reached the redirect target').to.equal(0);
    } finally {
      redirecting.server.close();
      stranger.server.close();
    }
  });
});
