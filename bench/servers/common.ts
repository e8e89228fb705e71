// Shared by the reference servers: the port flag, the `listening` line, and a health body shaped like the daemon's.
import { readFileSync } from 'node:fs';

/** `--port N` from argv (0 when absent, so the OS picks one). */
export function portFromArgv(argv: readonly string[] = process.argv): number {
  const i = argv.indexOf('--port');
  return i >= 0 ? Number(argv[i + 1]) : 0;
}

/** Logs the line the benchmark reads the port from, in the daemon's format. */
export function announce(port: number): void {
  process.stdout.write(JSON.stringify({ level: 'info', message: 'listening', host: '127.0.0.1', port, url: `http://127.0.0.1:${port}` }) + '\n');
}

const startedAt = Date.now();
const loadedAt = new Date().toISOString();

/** A JSON body of the same shape and size as the daemon's `/api/v1/health`, built per request. */
export function healthBody(): string {
  return JSON.stringify({
    status: 'ok',
    version: '0.1.0',
    uptimeSeconds: Math.round((Date.now() - startedAt) / 1000),
    key: { source: 'file', fingerprint: 'sha256:0123456789ab', loadedAt },
    lastReload: { outcome: 'loaded', trigger: 'startup', at: loadedAt },
  });
}

/** Exits on SIGTERM/SIGINT after closing the server, as the daemon does. */
export function exitOnSignals(close: (done: () => void) => void): void {
  const stop = (): void => close(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

/** `--tls-cert F --tls-key F` from argv, read: the reference servers then serve HTTPS with the daemon's certificate. */
export function tlsFromArgv(argv: readonly string[] = process.argv): { cert: Buffer; key: Buffer } | undefined {
  const cert = argv.indexOf('--tls-cert');
  const key = argv.indexOf('--tls-key');
  if (cert < 0 || key < 0) return undefined;
  return { cert: readFileSync(argv[cert + 1]!), key: readFileSync(argv[key + 1]!) };
}
