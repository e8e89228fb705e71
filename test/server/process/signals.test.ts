import { expect } from 'chai';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFile } from 'node:fs/promises';
import { generateKey } from '../../../src/core/key.js';
import { writeKeyFile } from '../../../src/core/key-file.js';
import { eventually, keyFileWith, registerSecret, spawnServer, statusOf, tempDir } from '../../helpers/server-process.js';

describe('server process: signals and hot reload', () => {
  it('re-reads the key file on SIGHUP', async () => {
    const { dir, cleanup } = await tempDir();
    const [oldKey, newKey] = [generateKey(), generateKey()];
    registerSecret(oldKey);
    registerSecret(newKey);
    const keyFile = await keyFileWith(dir, oldKey);
    const server = await spawnServer({ args: ['--port', '0', '--key-file', keyFile, '--watch-mode', 'poll'] });
    try {
      await writeFile(keyFile, newKey + '\n');
      server.child.kill('SIGHUP');
      await server.waitForLine((l) => l.message === 'reload requested', 3000);
      await eventually(async () => (await statusOf(`${server.url}/api/v1/health`, newKey)) === 200, 2000);
      expect(await statusOf(`${server.url}/api/v1/health`, oldKey)).to.equal(401);
    } finally {
      await server.stop();
      await cleanup();
    }
  });

  it('picks up an atomic rename of the key file within a second', async () => {
    const { dir, cleanup } = await tempDir();
    const [oldKey, newKey] = [generateKey(), generateKey()];
    registerSecret(oldKey);
    registerSecret(newKey);
    const keyFile = await keyFileWith(dir, oldKey);
    const server = await spawnServer({ args: ['--port', '0', '--key-file', keyFile] });
    try {
      const started = Date.now();
      await writeKeyFile(keyFile, newKey);
      await eventually(async () => (await statusOf(`${server.url}/api/v1/health`, newKey)) === 200, 1000, 5);
      expect(Date.now() - started).to.be.below(1000);
      expect(await statusOf(`${server.url}/api/v1/health`, oldKey)).to.equal(401);
      const metrics = await (await fetch(`${server.url}/metrics`, { headers: { 'X-API-Key': newKey } })).text();
      expect(metrics).to.match(/qwen_key_reloads_total\{result="loaded"\} [1-9]/);
    } finally {
      await server.stop();
      await cleanup();
    }
  });

  it('on SIGTERM lets a request in flight finish, then exits 0', async () => {
    const { dir, cleanup } = await tempDir();
    const key = generateKey();
    registerSecret(key);
    const keyFile = await keyFileWith(dir, key);
    let arrived!: () => void;
    const requestArrived = new Promise<void>((resolve) => { arrived = resolve; });
    const upstream = createServer((req, res) => {
      arrived();
      setTimeout(() => res.end(JSON.stringify({ slow: true, path: req.url })), 700);
    });
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
    const server = await spawnServer({ args: ['--port', '0', '--key-file', keyFile, '--upstream', upstreamUrl] });
    try {
      const inFlight = fetch(`${server.url}/api/v1/edit`, { headers: { 'X-API-Key': key } });
      await requestArrived;
      server.child.kill('SIGTERM');
      await server.waitForLine((l) => l.message === 'shutting down', 3000);
      const res = await inFlight;
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ slow: true, path: '/api/v1/edit' });
      const { code } = await server.exited;
      expect(code).to.equal(0);
      expect(server.lines().some((l) => l.message === 'stopped')).to.equal(true);
      const refused = await fetch(`${server.url}/livez`).then(() => false, () => true);
      expect(refused).to.equal(true);
    } finally {
      await server.stop();
      upstream.closeAllConnections();
      await new Promise((resolve) => upstream.close(resolve));
      await cleanup();
    }
  });

  it('exits 0 on SIGINT', async () => {
    const { dir, cleanup } = await tempDir();
    const key = generateKey();
    registerSecret(key);
    const server = await spawnServer({ args: ['--port', '0', '--key-file', await keyFileWith(dir, key)] });
    try {
      expect(await statusOf(`${server.url}/livez`)).to.equal(200);
      const { code } = await server.stop('SIGINT');
      expect(code).to.equal(0);
    } finally {
      await server.stop();
      await cleanup();
    }
  });
});
