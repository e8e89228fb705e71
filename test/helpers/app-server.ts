import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/server/http/app.js';
import type { AppOptions } from '../../src/server/http/app.js';
import type { ServerStatus } from '../../src/server/http/health.js';
import { clientErrorHandler } from '../../src/server/http/http-errors.js';
import { KeyStore } from '../../src/server/reload/key-store.js';
import { createLogger } from '../../src/server/logger.js';
import { captureStream, registerSecret } from './log-capture.js';
import { createMetrics } from '../../src/server/http/metrics.js';

/** A test key: long, random-looking, never printed. */
export const KEY = 'qwk_test_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0';
export const OLD_KEY = 'qwk_old_' + 'Z9y8X7w6V5u4T3s2R1q0P9o8N7m6L5k4J3i2H1g0';
registerSecret(KEY);
registerSecret(OLD_KEY);

/** An app listening on 127.0.0.1 with a port of its own. */
export interface TestApp {
  url: string;
  port: number;
  store: KeyStore;
  status: ServerStatus;
  /** The node:http server the app answers on. */
  server: Server;
  /** Every JSON line the app's logger wrote. */
  logs: Record<string, unknown>[];
  close(): Promise<void>;
}

/** Starts the real app in-process on port 0 with KEY loaded (unless `noKey`); close it in `finally`. */
export async function startApp(overrides: Partial<AppOptions> & { noKey?: boolean; level?: string } = {}): Promise<TestApp> {
  // The server's own logger and format, into the capture the key-leak guard reads.
  const logs: Record<string, unknown>[] = [];
  const stream = captureStream((text) => {
    for (const line of text.split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
  });
  const logger = createLogger({ level: overrides.level ?? 'http', json: true, stream });
  const store = overrides.store ?? new KeyStore();
  if (!overrides.noKey && !store.loaded) store.swap({ current: { key: KEY, source: 'file' } });
  const status: ServerStatus = { accepting: true };
  const metrics = overrides.metrics ?? createMetrics({ store, processMetrics: false });
  const app = createApp({ store, metrics, logger, status: () => status, version: '9.9.9', ...overrides });
  const server = createServer(app.callback());
  server.on('clientError', clientErrorHandler(logger));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    store,
    status,
    server,
    logs,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
