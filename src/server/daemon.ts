import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'winston';
import { createApp } from './http/app.js';
import type { Config } from './config.js';
import type { ServerStatus } from './http/health.js';
import { clientErrorHandler } from './http/http-errors.js';
import { startKeyAgeWarnings } from './reload/key-age.js';
import { ClientsReloader } from './reload/clients-reloader.js';
import { KeyReloader } from './reload/key-reloader.js';
import type { ReloadEvent } from './reload/reload-record.js';
import { KeyStore } from './reload/key-store.js';
import { ReloadHistory } from './reload/reload-history.js';
import { TrustReport } from './reload/trust-report.js';
import type { Identity } from '../core/file-trust.js';
import { FileReads } from '../core/regular-file.js';
import { watchKeyFile } from './reload/key-watcher.js';
import type { KeyWatcher } from './reload/key-watcher.js';
import { createMetrics } from './http/metrics.js';
import { createForwarder, probeUpstream } from '../proxy/forwarder.js';
import { drainServer } from './shutdown.js';
import { FailureThrottle } from './http/throttle.js';
import { createUpstreamMonitor } from '../proxy/upstream-monitor.js';

/** A running daemon. */
export interface Daemon {
  server: Server;
  url: string;
  /** Re-reads the key file (and the clients file) now (SIGHUP). */
  reload(trigger: string): Promise<ReloadEvent>;
  /** Readiness off, stop accepting, let requests in flight finish (bounded), close the watch and the upstream pool. */
  shutdown(reason: string): Promise<void>;
}

/**
 * Starts key store, reloader, watcher and HTTP server from a validated config; logs `listening` once it
 * accepts. `identity` is who the process runs as (process.geteuid()): a first-run key is written only where
 * that user may write.
 */
export async function startDaemon(config: Config, logger: Logger, version: string, identity?: Identity): Promise<Daemon> {
  const store = new KeyStore();
  const reads = new FileReads();
  const trust = new TrustReport({ keyFile: config.keyFile, clientsFile: config.clientsFile, logger, reads, identity });
  const metrics = createMetrics({ store, maxKeyAgeMs: config.maxKeyAgeMs, writableByOthers: () => trust.findings.length });
  const history = new ReloadHistory({
    keyFile: config.keyFile, logger, reads, maxGraceMs: config.maxGraceMs, trust, onFailure: () => metrics.historyReadFailure(),
  });
  const reloader = new KeyReloader({
    keyFile: config.keyFile, store, graceMs: config.graceMs, logger, reads, history, identity,
    onReload: (event) => metrics.keyReload(event.outcome),
  });
  const clients = new ClientsReloader({
    clientsFile: config.clientsFile, store, graceMs: config.graceMs, maxGraceMs: config.maxGraceMs, logger, reads,
    onReload: (event) => metrics.clientsReload(event.outcome),
  });
  const status: ServerStatus = { accepting: true };
  Object.defineProperty(status, 'lastReload', { get: () => reloader.lastReload, enumerable: true });
  Object.defineProperty(status, 'fileTrust', { get: () => trust.findings, enumerable: true });
  Object.defineProperty(status, 'clientsReload', { get: () => clients.lastReload, enumerable: true });

  await reloader.initialise({ apiKey: config.apiKey, development: config.development });
  await clients.reload('initialise');
  const reload = (trigger: string) => {
    void clients.reload(trigger);
    return reloader.reload(trigger);
  };
  const watch = (file: string, alsoWatch: string[], backstopMs?: number): Promise<KeyWatcher> => watchKeyFile({
    keyFile: file, mode: config.watchMode, alsoWatch, backstopMs,
    onChange: (trigger) => void reload(trigger),
    onError: (err) => logger.error('key watch error', { error: err.message }),
  });
  // The clients file beside the key file (the default) shares its watch; elsewhere it gets one of its own.
  const beside = dirname(resolve(config.clientsFile)) === dirname(resolve(config.keyFile));
  const watchers = [await watch(config.keyFile, beside ? [config.clientsFile] : [])];
  if (!beside) watchers.push(await watch(config.clientsFile, [], 0));
  const stopAgeWarnings = config.maxKeyAgeMs === undefined ? undefined
    : startKeyAgeWarnings({ store, maxAgeMs: config.maxKeyAgeMs, logger });

  const forwarder = config.upstream && createForwarder({
    upstream: config.upstream, timeoutMs: config.upstreamTimeoutMs, maxBodyBytes: config.maxBodyBytes, logger,
    draining: () => !status.accepting, clientHeader: config.clientHeader,
  });
  const app = createApp({
    store, metrics, logger, version,
    status: () => status,
    forward: forwarder || undefined,
    upstream: createUpstreamMonitor({ url: config.upstream, probe: probeUpstream }),
    readyRequiresUpstream: config.readyRequiresUpstream,
    throttle: config.authFailLimit && new FailureThrottle({ rate: config.authFailLimit }),
    maxKeyAgeMs: config.maxKeyAgeMs,
  });
  const server = createServer(app.callback());
  server.on('clientError', clientErrorHandler(logger));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  const url = `http://${host}:${port}`;
  logger.info('listening', { host: config.host, port, url });

  let stopping: Promise<void> | undefined;
  return {
    server,
    url,
    reload,
    shutdown(reason) {
      stopping ??= (async () => {
        status.accepting = false;
        logger.info('shutting down', { reason, drainTimeoutMs: config.drainTimeoutMs });
        await drainServer(server, { timeoutMs: config.drainTimeoutMs, logger });
        stopAgeWarnings?.();
        await Promise.allSettled([...watchers.map((w) => w.close()), forwarder ? forwarder.close() : undefined]);
        reloader.close();
        clients.close();
        logger.info('stopped', { reason });
      })();
      return stopping;
    },
  };
}
