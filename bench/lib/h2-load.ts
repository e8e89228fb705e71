import { connect } from 'node:http2';
import type { ClientHttp2Session } from 'node:http2';

/** An HTTP/2 load run: `sessions` connections, each keeping `streams` requests in flight, for `seconds`. */
export interface H2LoadOptions {
  origin: string;
  path: string;
  headers?: Record<string, string>;
  sessions: number;
  streams: number;
  seconds: number;
}

/** What an HTTP/2 run did: answered requests per second, and how many were not 2xx or failed. */
export interface H2LoadResult { rps: number; total: number; non2xx: number; errors: number }

/**
 * A small HTTP/2 load generator (autocannon speaks HTTP/1.1 only): node:http2 client sessions, each
 * keeping a fixed number of GETs in flight, a new one started as each finishes. Certificates are not
 * verified, as autocannon does not verify them either.
 */
export async function h2Load(options: H2LoadOptions): Promise<H2LoadResult> {
  let total = 0;
  let non2xx = 0;
  let errors = 0;
  let running = true;
  const sessions: ClientHttp2Session[] = await Promise.all(Array.from({ length: options.sessions }, () => new Promise<ClientHttp2Session>((resolve, reject) => {
    const session = connect(options.origin, { rejectUnauthorized: false });
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  })));
  const loop = (session: ClientHttp2Session): Promise<void> => new Promise((resolve) => {
    const next = (): void => {
      if (!running || session.closed || session.destroyed) return resolve();
      const stream = session.request({ ':path': options.path, ...options.headers });
      let status = 0;
      stream.on('response', (headers) => { status = Number(headers[':status']); });
      stream.resume();
      stream.on('end', () => { total++; if (status < 200 || status > 299) non2xx++; next(); });
      stream.on('error', () => { errors++; next(); });
    };
    next();
  });
  const started = performance.now();
  const loops = sessions.flatMap((session) => Array.from({ length: options.streams }, () => loop(session)));
  await new Promise((r) => setTimeout(r, options.seconds * 1000));
  running = false;
  await Promise.all(loops);
  const elapsed = (performance.now() - started) / 1000;
  for (const session of sessions) session.close();
  return { rps: total / elapsed, total, non2xx, errors };
}
