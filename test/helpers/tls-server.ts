import { copyFile, mkdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKey } from '../../src/core/key.js';
import { makeCa, makeLeaf } from './certificates.js';
import type { CertFiles, TestCa } from './certificates.js';
import { keyFileWith, registerSecret, spawnServer, tempDir } from './server-process.js';
import { httpsFetch, servedFingerprint } from './tls-clients.js';
import type { ServerProcess } from './server-process.js';

/** A temp directory with an API key, a CA and a server certificate installed where the server reads them. */
export interface TlsSetup {
  dir: string;
  keyFile: string;
  apiKey: string;
  ca: TestCa;
  /** Where the server reads its certificate and key (`<dir>/tls/tls.crt`, `tls.key`, as a Secret volume names them). */
  certFile: string;
  certKeyFile: string;
  /** The pair installed at start. */
  first: CertFiles;
  cleanup(): Promise<void>;
}

/** Makes a TlsSetup; remove it with `cleanup` in an `after` hook. */
export async function tlsSetup(): Promise<TlsSetup> {
  const { dir, cleanup } = await tempDir();
  const apiKey = generateKey();
  registerSecret(apiKey);
  const keyFile = await keyFileWith(dir, apiKey);
  const ca = await makeCa(join(dir, 'ca'));
  const first = await makeLeaf(ca);
  const setup: TlsSetup = {
    dir, keyFile, apiKey, ca, first, cleanup,
    certFile: join(dir, 'tls', 'tls.crt'),
    certKeyFile: join(dir, 'tls', 'tls.key'),
  };
  await mkdir(join(dir, 'tls'));
  await installByRename(first.cert, setup.certFile);
  await installByRename(first.key, setup.certKeyFile);
  return setup;
}

let staged = 0;
/** Copies `from` beside `to` and renames it over `to`, as an atomic writer does. */
export async function installByRename(from: string, to: string): Promise<void> {
  const tmp = `${to}.tmp-${staged++}`;
  await copyFile(from, tmp);
  await rename(tmp, to);
}

/** A TLS server process and its https origin (`https://127.0.0.1:PORT`, which the test certificates cover). */
export interface TlsServer extends ServerProcess {
  origin: string;
}

/** Starts the real server with the setup's key and certificate, on loopback, port 0; extra flags after. */
export async function startTlsServer(setup: TlsSetup, args: string[] = []): Promise<TlsServer> {
  const server = await spawnServer({
    args: ['--port', '0', '--host', '127.0.0.1', '--key-file', setup.keyFile, '--auth-fail-limit', 'off',
      '--tls-cert', setup.certFile, '--tls-key', setup.certKeyFile, ...args],
  });
  return Object.assign(server, { origin: `https://127.0.0.1:${server.port}` });
}

/** Polls the certificate new handshakes get until it is `fingerprint`; resolves to the ms since `since`, fails after `limitMs`. */
export async function servedWithin(server: TlsServer, setup: TlsSetup, fingerprint: string, since: number, limitMs = 1000): Promise<number> {
  for (;;) {
    if ((await servedFingerprint(server.port, { ca: setup.ca.cert })) === fingerprint) return Date.now() - since;
    if (Date.now() - since > limitMs) throw new Error(`certificate ${fingerprint.slice(0, 11)}… not served within ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A metric's value from /metrics (undefined when absent). */
export async function metricValue(server: TlsServer, setup: TlsSetup, series: string): Promise<number | undefined> {
  const answer = await httpsFetch(`${server.origin}/metrics`, { ca: setup.ca.cert }, { headers: { 'X-API-Key': setup.apiKey } });
  const line = answer.body.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}
