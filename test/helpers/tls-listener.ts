import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { createListener } from '../../src/server/tls/listener.js';
import type { Listener, RequestHandler } from '../../src/server/tls/listener.js';
import { makeLeaf } from './certificates.js';
import type { TestCa } from './certificates.js';

// The TLS listener in process, on 127.0.0.1 port 0, and a raw HTTP/1.1-over-TLS client for it: for the
// tests of the listener and of the header deadline.

/** A listening TLS listener and where to reach it. */
export interface TlsListening {
  listener: Listener;
  /** `https://127.0.0.1:PORT`, which the test certificates cover. */
  origin: string;
  port: number;
  /** Cuts every connection and stops listening (for `finally`). */
  close(): void;
}

/** What the listener is made with: its idle time, the handler (answers `ok` by default), the header timeout. */
export interface ListenOptions {
  idleMs?: number;
  handler?: RequestHandler;
  headersTimeout?: number;
}

/** Starts a TLS listener with a fresh certificate signed by `ca`. */
export async function listenTls(ca: TestCa, options: ListenOptions = {}): Promise<TlsListening> {
  const pair = await makeLeaf(ca);
  const listener = createListener(options.handler ?? ((_req, res) => res.end('ok')), {
    context: { cert: await readFile(pair.cert), key: await readFile(pair.key) }, requireClientCertificates: false, idleMs: options.idleMs ?? 5000,
  }, options.headersTimeout === undefined ? {} : { headersTimeout: options.headersTimeout });
  listener.server.listen(0, '127.0.0.1');
  await once(listener.server, 'listening');
  const { port } = listener.server.address() as AddressInfo;
  return {
    listener, port, origin: `https://127.0.0.1:${port}`,
    close() {
      listener.closeAll();
      listener.server.close();
    },
  };
}

/** A TLS connection that negotiated HTTP/1.1, and everything the server has sent on it so far. */
export interface Http1Connection {
  socket: TLSSocket;
  /** The bytes received, as latin1 text. */
  received(): string;
  /** Resolves once the connection has closed (reset included); fails after `ms`. */
  closed(ms: number): Promise<void>;
}

/** Opens an HTTP/1.1-over-TLS connection to 127.0.0.1:`port`, trusting `ca`; destroy its socket in `finally`. */
export async function http1Connection(port: number, ca: TestCa): Promise<Http1Connection> {
  const socket = connect({ port, host: '127.0.0.1', ca: await readFile(ca.cert), ALPNProtocols: ['http/1.1'] });
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  const closing = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await once(socket, 'secureConnect');
  // A connection the server cuts may end in a reset: the tests look at what arrived and whether it closed.
  socket.on('error', () => {});
  return {
    socket,
    received: () => text,
    closed: (ms) => within(closing, ms, 'the connection to close'),
  };
}

/** `promise`, or a failure naming `what` once `ms` have passed without it settling. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`waited ${ms} ms for ${what}`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Resolves once `condition()` holds (looked at every 5 ms); fails, naming `what`, after `ms`. */
export async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
