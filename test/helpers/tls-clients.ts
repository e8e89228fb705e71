import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect as http2Connect } from 'node:http2';
import type { ClientHttp2Session, OutgoingHttpHeaders } from 'node:http2';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';

// Real TLS clients for the process tests: curl, and Node's tls, https and http2 modules. Every one
// verifies the server's certificate against the test CA; none turns verification off.

/** Trust and (for mTLS) the client's own certificate. */
export interface ClientTls {
  /** The CA file the server's certificate must chain to. */
  ca: string;
  cert?: string;
  key?: string;
}

/** An answer as a client saw it. */
export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The protocol negotiated: `h2` or `http/1.1`. */
  protocol?: string;
}

const files = (tls: ClientTls) => ({
  ca: readFileSync(tls.ca),
  ...(tls.cert ? { cert: readFileSync(tls.cert) } : {}),
  ...(tls.key ? { key: readFileSync(tls.key) } : {}),
});

/** The SHA-256 fingerprint of the certificate a new handshake with 127.0.0.1:`port` gets (verified against the CA). */
export function servedFingerprint(port: number, tls: ClientTls): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, servername: 'localhost', ...files(tls), ALPNProtocols: ['http/1.1'] }, () => {
      const fingerprint = socket.getPeerCertificate().fingerprint256;
      socket.end();
      resolve(fingerprint);
    });
    socket.once('error', reject);
    socket.setTimeout(5000, () => socket.destroy(new Error('TLS handshake timed out')));
  });
}

/** GET (or another method) over HTTPS with HTTP/1.1, on a fresh connection. */
export function httpsFetch(url: string, tls: ClientTls, options: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: options.method ?? 'GET', headers: options.headers, agent: false, timeout: 5000, ...files(tls) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), protocol: `http/${res.httpVersion}` }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('no answer in time')));
    req.on('error', reject);
    req.end(options.body);
  });
}

/** An HTTP/2 connection to `origin`; close it in `finally`. */
export function h2Session(origin: string, tls: ClientTls): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2Connect(origin, { ...files(tls) });
    // An error after 'connect' (with TLS 1.3 a refused client certificate arrives then) fails the requests
    // on the session, which is where the tests look; it must not be an uncaught 'error' event.
    session.on('error', (err) => reject(err));
    session.once('connect', () => resolve(session));
  });
}

/** One request on an HTTP/2 session; the body, if any, is written in `chunks` (no content-length). */
export function h2Request(session: ClientHttp2Session, headers: OutgoingHttpHeaders, chunks: Buffer[] = []): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const stream = session.request(headers, { endStream: chunks.length === 0 });
    const parts: Buffer[] = [];
    let head: Record<string, string | string[] | undefined> = {};
    stream.on('response', (h) => { head = h as typeof head; });
    stream.on('data', (chunk: Buffer) => parts.push(chunk));
    const done = (): void => {
      if (head[':status'] === undefined) reject(Object.assign(new Error('stream closed without an answer'), { code: 'NO_ANSWER' }));
      else resolve({ status: Number(head[':status']), headers: head, body: Buffer.concat(parts).toString('utf8'), protocol: 'h2' });
    };
    stream.on('end', done);
    stream.on('close', done);
    stream.on('error', reject);
    stream.setTimeout(10_000, () => stream.close());
    for (const chunk of chunks) stream.write(chunk);
    if (chunks.length > 0) stream.end();
  });
}

/** What a finished curl run left behind. */
export interface CurlRun { code: number | null; stdout: string; stderr: string }

/** Runs curl with `args` (add `--cacert`, never `-k`); resolves whatever its exit code. */
export function curl(args: string[]): Promise<CurlRun> {
  return new Promise((resolve) => {
    execFile('curl', ['--silent', '--show-error', '--max-time', '10', ...args], { timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}
