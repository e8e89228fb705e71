// startDaemon in this process: port 0, a temporary key directory, an injected logger. What the
// process tests prove of the built server, proved here of the source, where mutation testing sees it.
import { expect } from 'chai';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { loadConfig } from '../../src/server/config.js';
import type { Config } from '../../src/server/config.js';
import { startDaemon } from '../../src/server/daemon.js';
import type { Daemon } from '../../src/server/daemon.js';
import { closedBy, openSocket, rawRequest } from '../helpers/raw-http.js';
import { captureLogger, periods, tempDir, waitFor } from './reload/helpers.js';

const NEW_KEY = 'qwk_daemon_new_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
const OLD_KEY = 'qwk_daemon_old_' + 'Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2';

/** A daemon started from command-line flags, in a temporary directory with `api/` for its key. */
interface Running {
  daemon: Daemon;
  port: number;
  keyFile: string;
  log: ReturnType<typeof captureLogger>;
  /** The key in the key file now. */
  key(): Promise<string>;
  close(): Promise<void>;
}

async function start(flags: string[] = [], prepare?: (keyFile: string) => Promise<void>): Promise<Running> {
  const { dir, cleanup } = await tempDir();
  const keyFile = join(dir, 'api', '.api_key');
  const log = captureLogger();
  let daemon: Daemon | undefined;
  try {
    await mkdir(join(dir, 'api'), { mode: 0o700 });
    await prepare?.(keyFile);
    const config = loadConfig(['--port', '0', '--key-file', keyFile, ...flags], {}) as Config;
    daemon = await startDaemon(config, log.logger, '1.2.3');
  } catch (err) {
    await cleanup();
    throw err;
  }
  const started = daemon;
  return {
    daemon: started,
    port: (started.server.address() as AddressInfo).port,
    keyFile,
    log,
    key: async () => (await readFile(keyFile, 'utf8')).trim(),
    close: async () => {
      await started.shutdown('test');
      await cleanup();
    },
  };
}

/** A GET on a connection of its own; the status and the answer's text. */
async function get(port: number, path: string, key?: string, localAddress?: string): Promise<{ status: number; text: string }> {
  const headers = key === undefined ? '' : `X-API-Key: ${key}\r\n`;
  const { status, text } = await rawRequest(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n${headers}Connection: close\r\n\r\n`, { localAddress, keepOpen: true });
  return { status, text };
}

const bodyOf = (text: string): unknown => JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
const messages = (log: Running['log']): unknown[] => log.lines.map((l) => l.message);

describe('startDaemon: start-up', () => {
  it('listens where configured and logs the url and the connection caps in force', async () => {
    const running = await start(['--max-connections', '100', '--max-connections-per-ip', '7']);
    try {
      const listening = running.log.lines.find((l) => l.message === 'listening');
      expect(listening).to.deep.include({
        host: '127.0.0.1', port: running.port, url: `http://127.0.0.1:${running.port}`, maxConnections: 100, maxConnectionsPerIp: 7,
      });
      expect(running.daemon.url).to.equal(`http://127.0.0.1:${running.port}`);
      expect((await get(running.port, '/livez')).status).to.equal(200);
      expect(messages(running.log).filter((m) => String(m).startsWith('listening beyond loopback'))).to.deep.equal([]);
    } finally {
      await running.close();
    }
  });

  it('names an IPv6 address in brackets in its url, and the per-address cap as off when lifted', async () => {
    const running = await start(['--host', '::1', '--max-connections-per-ip', 'off']);
    try {
      expect(running.daemon.url).to.equal(`http://[::1]:${running.port}`);
      expect(running.log.lines.find((l) => l.message === 'listening')).to.deep.include({ host: '::1', maxConnectionsPerIp: 'off' });
      expect((await fetch(`${running.daemon.url}/livez`)).status).to.equal(200);
    } finally {
      await running.close();
    }
  });

  it('on a first run, generates a key into the key file and accepts exactly that key', async () => {
    const running = await start();
    try {
      const key = await running.key();
      expect(key).to.match(/^qwk_/);
      expect((await get(running.port, '/readyz')).status).to.equal(200);
      expect((await get(running.port, '/api/v1/health', key)).status).to.equal(200);
      expect((await get(running.port, '/api/v1/health', key + 'x')).status).to.equal(401);
    } finally {
      await running.close();
    }
  });

  it('lowers the connection cap to fit the open-file limit, and says so', async function () {
    const limit = await openFileLimit();
    if (limit === undefined) this.skip();
    const running = await start(['--max-connections', '1000000']);
    try {
      const warning = running.log.lines.find((l) => l.message === 'max connections lowered to fit the open-file limit');
      expect(warning).to.deep.include({ level: 'warn', requested: 1_000_000, maxConnections: limit! - 64, openFileLimit: limit });
      expect(running.log.lines.find((l) => l.message === 'listening')).to.deep.include({ maxConnections: limit! - 64 });
    } finally {
      await running.close();
    }
  });

  it('keeps the cap asked for when it fits, without a warning', async () => {
    const running = await start(['--max-connections', '10']);
    try {
      expect(messages(running.log)).to.not.include('max connections lowered to fit the open-file limit');
      expect(running.log.lines.find((l) => l.message === 'listening')).to.deep.include({ maxConnections: 10 });
    } finally {
      await running.close();
    }
  });

  it('counts two descriptors per connection with an upstream', async function () {
    const limit = await openFileLimit();
    if (limit === undefined) this.skip();
    const running = await start(['--max-connections', '1000000', '--upstream', 'http://127.0.0.1:9']);
    try {
      expect(running.log.lines.find((l) => l.message === 'listening')).to.deep.include({ maxConnections: Math.floor((limit! - 64) / 2) });
    } finally {
      await running.close();
    }
  });

  it('sets the header timeout and the request timeout from the configuration', async () => {
    const running = await start(['--header-timeout', '3s', '--upstream-timeout', '7m']);
    try {
      const server = running.daemon.server as Server;
      expect(server.headersTimeout).to.equal(3000);
      expect(server.requestTimeout).to.equal(420_000);
    } finally {
      await running.close();
    }
  });

  it('warns at start about a key older than --max-key-age, and health shows it', async () => {
    const running = await start(['--max-key-age', '30d'], async (keyFile) => {
      await writeFile(keyFile, `${NEW_KEY}\n`, { mode: 0o600 });
      await writeFile(`${keyFile}_history`, `2020-01-01 00:00:00 | Generated | ${NEW_KEY}\n`, { mode: 0o600 });
    });
    try {
      expect(messages(running.log)).to.include('key older than max key age; rotate it with manage-key rotate');
      const health = bodyOf((await get(running.port, '/api/v1/health', NEW_KEY)).text) as { key: Record<string, unknown> };
      expect(health.key).to.deep.include({ maxAgeSeconds: 30 * 86_400, maxAgeExceeded: true });
    } finally {
      await running.close();
    }
  });
});

describe('startDaemon: keys at run time', () => {
  it('picks up a new key file by itself', async () => {
    const running = await start();
    try {
      const old = await running.key();
      await writeFile(running.keyFile, `${NEW_KEY}\n`);
      await waitFor(async () => (await get(running.port, '/api/v1/health', NEW_KEY)).status === 200, 'the new key', 5000, 20);
      expect((await get(running.port, '/api/v1/health', old)).status).to.equal(401);
    } finally {
      await running.close();
    }
  });

  it('re-reads the key file when asked (SIGHUP), with the trigger given', async () => {
    const running = await start(['--watch-mode', 'poll']);
    try {
      await writeFile(running.keyFile, `${NEW_KEY}\n`);
      const event = await running.daemon.reload('SIGHUP');
      expect(event).to.deep.include({ outcome: 'loaded', trigger: 'SIGHUP' });
      expect((await get(running.port, '/api/v1/health', NEW_KEY)).status).to.equal(200);
    } finally {
      await running.close();
    }
  });

  it('keeps the previous key for --grace after a rotation', async () => {
    const running = await start(['--grace', '10m'], async (keyFile) => {
      await writeFile(keyFile, `${OLD_KEY}\n`, { mode: 0o600 });
    });
    try {
      await writeFile(running.keyFile, `${NEW_KEY}\n`);
      await running.daemon.reload('test');
      expect((await get(running.port, '/api/v1/health', OLD_KEY)).status).to.equal(200);
      expect((await get(running.port, '/api/v1/health', NEW_KEY)).status).to.equal(200);
    } finally {
      await running.close();
    }
  });

  it('reports key files others can write in health and metrics', async function () {
    if (process.platform === 'win32') this.skip();
    const running = await start([], async (keyFile) => {
      await writeFile(keyFile, `${NEW_KEY}\n`, { mode: 0o600 });
      await chmod(keyFile, 0o660);
    });
    try {
      const health = bodyOf((await get(running.port, '/api/v1/health', NEW_KEY)).text) as { fileTrust: { ok: boolean; writableByOthers: Array<{ path: string }> } };
      expect(health.fileTrust.ok).to.equal(false);
      expect(health.fileTrust.writableByOthers.map((f) => f.path)).to.deep.equal([running.keyFile]);
      expect((await get(running.port, '/metrics', NEW_KEY)).text).to.match(/\nqwen_key_files_writable_by_others 1\n/);
    } finally {
      await running.close();
    }
  });

  it('shows the last reload and the key files\' trust in health', async () => {
    const running = await start();
    try {
      const key = await running.key();
      await running.daemon.reload('SIGHUP');
      const health = bodyOf((await get(running.port, '/api/v1/health', key)).text) as Record<string, Record<string, unknown>>;
      expect(health.lastReload).to.deep.include({ outcome: 'loaded', trigger: 'initialise' });
      expect(health.lastReload!.checkedAt).to.be.a('string');
      expect(health.fileTrust).to.deep.equal({ ok: true, writableByOthers: [] });
      expect(health.upstream).to.deep.equal({ configured: false });
    } finally {
      await running.close();
    }
  });

  it('counts reloads, history read failures and key files writable by others in its metrics', async () => {
    const running = await start([], async (keyFile) => {
      await writeFile(keyFile, `${NEW_KEY}\n`, { mode: 0o600 });
      await mkdir(`${keyFile}_history`); // a history that cannot be read as a file
    });
    try {
      await running.daemon.reload('SIGHUP');
      const metrics = (await get(running.port, '/metrics', NEW_KEY)).text;
      expect(metrics).to.match(/\nqwen_key_reloads_total\{result="loaded"\} 1\n/);
      expect(metrics).to.match(/\nqwen_key_file_checks_total 2\n/);
      expect(metrics).to.match(/\nqwen_history_read_failures_total [1-9]\d*\n/);
      expect(metrics).to.match(/\nqwen_key_files_writable_by_others 0\n/);
      expect(metrics).to.match(/\nqwen_connections_open 1\n/);
    } finally {
      await running.close();
    }
  });
});

describe('startDaemon: guards', () => {
  it('throttles failed authentication per --auth-fail-limit', async () => {
    const running = await start(['--auth-fail-limit', '2/1m']);
    try {
      const statuses = [];
      for (let i = 0; i < 3; i++) statuses.push((await get(running.port, '/api/v1/health', 'wrong')).status);
      expect(statuses).to.deep.equal([401, 401, 429]);
    } finally {
      await running.close();
    }
  });

  it('does not throttle with --auth-fail-limit off', async () => {
    const running = await start(['--auth-fail-limit', 'off']);
    try {
      const statuses = new Set<number>();
      for (let i = 0; i < 3; i++) statuses.add((await get(running.port, '/api/v1/health', 'wrong')).status);
      expect([...statuses]).to.deep.equal([401]);
    } finally {
      await running.close();
    }
  });

  it('refuses connections past --max-connections-per-ip from one address', async () => {
    const running = await start(['--max-connections-per-ip', '1']);
    try {
      const first = await openSocket(running.port, '127.0.0.2');
      const second = await openSocket(running.port, '127.0.0.2');
      expect((await closedBy(second, 2000)).closed).to.equal(true);
      expect((await get(running.port, '/livez', undefined, '127.0.0.3')).status).to.equal(200);
      first.destroy();
    } finally {
      await running.close();
    }
  });

  it('at --max-connections, evicts a connection that never carried the key, never one that did', async () => {
    const running = await start(['--max-connections', '2']);
    try {
      const key = await running.key();
      const keyed = await openSocket(running.port);
      keyed.write(`GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\n\r\n`);
      await new Promise((resolve) => keyed.once('data', resolve));
      const idle = await openSocket(running.port);
      await waitFor(async () => /qwen_connections_open 2\n/.test((await metricsOn(keyed, key))), 'both connections counted', 2000, 10);
      const newcomer = await openSocket(running.port);
      expect((await closedBy(idle, 2000)).closed).to.equal(true);
      expect((await closedBy(keyed, 100)).closed).to.equal(false);
      keyed.destroy();
      newcomer.destroy();
    } finally {
      await running.close();
    }
  });

  it('answers /readyz 503 while the upstream is unreachable, with --ready-requires-upstream', async () => {
    const running = await start(['--upstream', 'http://127.0.0.1:9', '--ready-requires-upstream']);
    try {
      const { status, text } = await get(running.port, '/readyz');
      expect(status).to.equal(503);
      expect(bodyOf(text)).to.deep.equal({ detail: 'Upstream unreachable' });
    } finally {
      await running.close();
    }
  });
});

describe('startDaemon: forwarding and shutdown', () => {
  let upstream: { server: Server; url: string; held: Array<{ req: IncomingMessage; res: ServerResponse }> };

  beforeEach(async () => {
    const held: Array<{ req: IncomingMessage; res: ServerResponse }> = [];
    const server = createServer((req, res) => held.push({ req, res }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    upstream = { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, held };
  });

  afterEach(async () => {
    upstream.server.closeAllConnections();
    await new Promise((resolve) => upstream.server.close(resolve));
  });

  it('forwards an authenticated /api/v1 request to the upstream, without the key', async () => {
    const running = await start(['--upstream', upstream.url]);
    try {
      const key = await running.key();
      const answer = get(running.port, '/api/v1/edit?x=1', key);
      await waitFor(() => upstream.held.length === 1, 'the forwarded request', 5000);
      const { req, res } = upstream.held[0]!;
      expect(req.url).to.equal('/api/v1/edit?x=1');
      expect(req.headers).to.not.have.property('x-api-key');
      res.end('edited');
      const { status, text } = await answer;
      expect(status).to.equal(200);
      expect(text.endsWith('edited')).to.equal(true);
    } finally {
      await running.close();
    }
  });

  it('on shutdown, finishes a forwarded request in flight, closing its connection, then logs stopped', async () => {
    const running = await start(['--upstream', upstream.url, '--drain-timeout', '10s']);
    let stopped = false;
    try {
      const key = await running.key();
      const socket = await openSocket(running.port);
      socket.write(`GET /api/v1/slow HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\n\r\n`);
      await waitFor(() => upstream.held.length === 1, 'the forwarded request', 5000);
      const shutdown = running.daemon.shutdown('SIGTERM').then(() => { stopped = true; });
      await waitFor(() => messages(running.log).includes('shutting down'), 'the shutdown to begin');
      expect(stopped).to.equal(false);
      const text = new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString())));
      upstream.held[0]!.res.end('late');
      expect(await text).to.match(/^HTTP\/1\.1 200 [^]*\r\nConnection: close\r\n/i);
      await shutdown;
      const lines = running.log.lines;
      expect(lines.find((l) => l.message === 'shutting down')).to.deep.include({ reason: 'SIGTERM', drainTimeoutMs: 10_000 });
      expect(lines.at(-1)).to.deep.include({ message: 'stopped', reason: 'SIGTERM' });
      expect(running.daemon.server.listening).to.equal(false);
    } finally {
      await running.close();
    }
  });

  it('shuts down once, however often asked', async () => {
    const running = await start();
    try {
      const first = running.daemon.shutdown('SIGTERM');
      expect(running.daemon.shutdown('SIGINT')).to.equal(first);
      await first;
      expect(messages(running.log).filter((m) => m === 'shutting down')).to.have.length(1);
    } finally {
      await running.close();
    }
  });

  it('closes its upstream connections on shutdown', async () => {
    const running = await start(['--upstream', upstream.url]);
    try {
      const key = await running.key();
      const answer = get(running.port, '/api/v1/edit', key);
      await waitFor(() => upstream.held.length === 1, 'the forwarded request', 5000);
      upstream.held[0]!.res.end('done');
      expect((await answer).status).to.equal(200);
      expect(await connectionsTo(upstream.server)).to.equal(1); // kept alive in the pool
      await running.daemon.shutdown('SIGTERM');
      await waitFor(async () => (await connectionsTo(upstream.server)) === 0, 'the pool to close', 2000, 10);
    } finally {
      await running.close();
    }
  });
});

describe('startDaemon: what shutdown ends', () => {
  it('cuts what still runs at --drain-timeout, says so, and stops', async () => {
    const held: ServerResponse[] = [];
    const upstream = createServer((_req, res) => held.push(res));
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
    const running = await start(['--upstream', `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`, '--drain-timeout', '100ms']);
    try {
      const key = await running.key();
      const socket = await openSocket(running.port);
      socket.write(`GET /api/v1/never HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\n\r\n`);
      await waitFor(() => held.length === 1, 'the forwarded request', 5000);
      const cut = closedBy(socket, 5000);
      await Promise.race([running.daemon.shutdown('SIGTERM'), new Promise((resolve) => setTimeout(resolve, 5000))]);
      expect(running.log.lines.find((l) => l.message === 'drain timeout reached; closing remaining connections'))
        .to.deep.include({ level: 'warn', drainTimeoutMs: 100 });
      expect((await cut).closed).to.equal(true);
      expect(messages(running.log)).to.include('stopped');
    } finally {
      await running.close();
      upstream.closeAllConnections();
      upstream.close();
    }
  });

  it('cuts every connection when told to (a second signal)', async () => {
    const running = await start();
    try {
      const socket = await openSocket(running.port);
      socket.write('GET /livez HTTP/1.1\r\nHost: x\r\n\r\n');
      await new Promise((resolve) => socket.once('data', resolve));
      const cut = closedBy(socket, 2000);
      running.daemon.closeAllConnections();
      expect((await cut).closed).to.equal(true);
    } finally {
      await running.close();
    }
  });

  it('closes its key watch, which would keep the process alive', async () => {
    const watches = (): number => process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length;
    const before = watches();
    const running = await start();
    try {
      expect(watches()).to.be.greaterThan(before);
      await running.daemon.shutdown('SIGTERM');
      await waitFor(() => watches() === before, 'the watch to close', 3000, 10);
    } finally {
      await running.close();
    }
  });

  it('cancels the re-read pending after a key file went missing: nothing is read or logged after stopped', async () => {
    const running = await start();
    try {
      await rm(running.keyFile);
      await running.daemon.reload('test'); // missing: one more look is scheduled shortly
      await running.daemon.shutdown('SIGTERM');
      const count = running.log.lines.length;
      await periods(50, 4); // the retry's delay, several times over
      expect(running.log.lines.length).to.equal(count);
      expect(running.log.lines.at(-1)).to.deep.include({ message: 'stopped' });
    } finally {
      await running.close();
    }
  });
});

const connectionsTo = (server: Server): Promise<number> =>
  new Promise((resolve, reject) => server.getConnections((err, count) => (err ? reject(err) : resolve(count))));


/** The soft open-file limit as /proc/self/limits states it (Linux only). */
async function openFileLimit(): Promise<number | undefined> {
  try {
    const soft = /^Max open files\s+(\d+)/m.exec(await readFile('/proc/self/limits', 'utf8'));
    return soft ? Number(soft[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** /metrics over an open keep-alive connection (the connection stays counted). */
function metricsOn(socket: import('node:net').Socket, key: string): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (chunk: Buffer): void => {
      text += chunk.toString();
      const head = text.indexOf('\r\n\r\n');
      const length = /content-length: (\d+)/i.exec(text);
      if (head >= 0 && length && text.length >= head + 4 + Number(length[1])) {
        socket.off('data', onData);
        resolve(text);
      }
    };
    socket.on('data', onData);
    socket.write(`GET /metrics HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\n\r\n`);
  });
}
