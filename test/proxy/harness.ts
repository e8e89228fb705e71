// Shared set-up for the forwarder tests: the echo upstream as a real process, and a minimal Koa
// app in this process that mounts the forwarder, both on 127.0.0.1 port 0.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import Koa from 'koa';
import { createForwarder, type Forwarder, type ForwarderOptions } from '../../src/proxy/forwarder.js';
import { captureLogger, collect } from '../helpers/log-capture.js';

const FIXTURE = fileURLToPath(new URL('../fixtures/upstream.ts', import.meta.url));

/** A running upstream fixture process. */
export interface Upstream {
  url: URL;
  child: ChildProcess;
  /** Done with it: the process is shared by the whole run and ends with it (see startUpstream). */
  stop(): Promise<void>;
}

let shared: Promise<Upstream> | undefined;

/**
 * The upstream fixture (test/fixtures/upstream.ts), one process for the whole test run, started on first
 * use: every file, and under Stryker every mutant's run of a file, would otherwise start its own (half a
 * second each). It keeps no state a test depends on (tests look up their own requests by id or count
 * from where they began), and it exits with this process, even one that is killed.
 */
export function startUpstream(): Promise<Upstream> {
  shared ??= spawnUpstream().catch((err: unknown) => {
    shared = undefined;
    throw err;
  });
  return shared;
}

async function spawnUpstream(): Promise<Upstream> {
  // stdin is a pipe the fixture watches: when this process dies, however, the fixture sees it close and exits.
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
    stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, QWEN_UPSTREAM_EXIT_WITH_PARENT: '1' },
  });
  process.once('exit', () => child.kill('SIGKILL'));
  child.stderr!.setEncoding('utf8').on('data', (text: string) => { collect(text); process.stderr.write(text); });
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) { child.kill('SIGKILL'); await once(child, 'exit'); }
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('upstream fixture did not start within 10 s')), 10_000);
      let text = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        text += chunk.toString();
        const line = /^(\{.*\})\n/m.exec(text);
        if (line) { clearTimeout(timer); resolve((JSON.parse(line[1]!) as { port: number }).port); }
      });
      child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`upstream fixture exited (${code})`)); });
    });
    child.once('exit', () => { shared = undefined; }); // a fixture that died is started afresh on next use
    child.unref();
    for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as { unref?: () => void } | null)?.unref?.();
    return { url: new URL(`http://127.0.0.1:${port}`), child, stop: async () => {} };
  } catch (err) {
    await kill();
    throw err;
  }
}

/** A Koa app in front of an upstream, with the log lines it wrote. */
export interface Proxy { url: string; forwarder: Forwarder; server: Server; logs: string[]; close(): Promise<void> }

/** Mounts the forwarder (after an optional middleware standing in for the app's auth/request id) and listens. */
export async function startProxy(options: Partial<ForwarderOptions> & { upstream: URL }, before?: Koa.Middleware): Promise<Proxy> {
  const log = captureLogger('debug');
  const { logger } = log;
  const forwarder = createForwarder({ timeoutMs: 10_000, maxBodyBytes: 64 * 1024 * 1024, logger, ...options });
  const app = new Koa();
  app.silent = true;
  if (before) app.use(before);
  app.use(forwarder);
  const server = createServer(app.callback());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const close = async (): Promise<void> => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await forwarder.destroy();
  };
  return { url: `http://127.0.0.1:${port}`, forwarder, server, get logs() { return log.text().split('\n').filter(Boolean); }, close };
}

/** Polls `check` every 20 ms until it returns a value other than undefined, failing after `ms`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined>, ms = 5_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** What the upstream fixture recorded about the request carrying X-Request-Id `id`, if anything. */
export async function upstreamSaw(upstream: URL, id: string): Promise<{ state: string; received: number } | undefined> {
  const res = await fetch(new URL(`/_requests/${encodeURIComponent(id)}`, upstream));
  return res.status === 200 ? (await res.json() as { state: string; received: number }) : undefined;
}
