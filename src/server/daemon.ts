import type { AddressInfo } from 'node:net';
import type { Logger } from 'winston';
import { createApp } from './http/app.js';
import type { Config } from './config.js';
import type { ServerStatus } from './http/health.js';
import type { ConnectionGuard } from './connection-limits.js';
import { connectionCap, openFileLimit } from './descriptor-budget.js';
import { createHttpServer } from './http-server.js';
import { startKeyAgeWarnings } from './reload/key-age.js';
import { ClientsReloader } from './reload/clients-reloader.js';
import { KeyReloader } from './reload/key-reloader.js';
import type { ReloadEvent } from './reload/reload-record.js';
import { KeyStore } from './reload/key-store.js';
import { ReloadHistory } from './reload/reload-history.js';
import { TrustReport } from './reload/trust-report.js';
import { resolveIdentity } from '../core/file-trust.js';
import type { Identity } from '../core/file-trust.js';
import { FileReads } from '../core/regular-file.js';
import { watchKeyFile } from './reload/key-watcher.js';
import { createMetrics } from './http/metrics.js';
import { createForwarder, probeUpstream } from '../proxy/forwarder.js';
import { drainServer } from './shutdown.js';
import { FailureThrottle } from './http/throttle.js';
import { createUpstreamMonitor } from '../proxy/upstream-monitor.js';
import { isLoopback } from './tls/listener.js';
import type { ListeningServer } from './tls/listener.js';
import { startTls } from './tls/tls-service.js';

/** A running daemon. */
export interface Daemon {
  /** A net.Server: plain HTTP, or TLS with HTTP/2 and HTTP/1.1. */
  server: ListeningServer;
  url: string;
  /** Cuts every connection now (a second signal). */
  closeAllConnections(): void;
  /** Re-reads the key file, the clients file (and the certificate) now (SIGHUP). */
  reload(trigger: string): Promise<ReloadEvent>;
  /** Readiness off, stop accepting, let requests in flight finish (bounded), close the watch and the upstream pool. */
  shutdown(reason: string): Promise<void>;
}

/** What the entry point knows beside the config. */
export interface DaemonContext {
  /** Who the process runs as (process.geteuid()): a first-run key is written only where that user may write. */
  identity?: Identity;
  /** How the operator sees a key generated on a first run, from where the server was started. */
  showKeyCommand?: string;
}

/** Starts key store, reloader, watcher and HTTP server from a validated config; logs `listening` once it accepts. */
export async function startDaemon(config: Config, logger: Logger, version: string, context: DaemonContext = {}): Promise<Daemon> {
  const { identity } = context;
  const store = new KeyStore();
  // The key file and the clients file are read only when they belong to this user or root (FileReads `owned`).
  const { uid, posix } = resolveIdentity(identity);
  const reads = new FileReads({ ownerUid: posix ? uid : undefined });
  const trust = new TrustReport({ keyFile: config.keyFile, clientsFile: config.clientsFile, logger, reads, identity });
  let connections: ConnectionGuard | undefined;
  const metrics = createMetrics({
    store, maxKeyAgeMs: config.maxKeyAgeMs, writableByOthers: () => trust.findings.length, connections: () => connections,
  });
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
  // First: a certificate that cannot serve stops the server before anything else happens.
  const tls = config.tls && await startTls({ files: config.tls, watchMode: config.watchMode, logger, registry: metrics.registry });
  if (tls) Object.defineProperty(status, 'tls', { get: () => tls.summary(), enumerable: true });

  await reloader.initialise({ apiKey: config.apiKey, development: config.development, showKeyCommand: context.showKeyCommand });
  await clients.reload('initialise');
  const reload = (trigger: string): Promise<ReloadEvent> => {
    void clients.reload(trigger);
    return reloader.reload(trigger);
  };
  // The clients file shares the key file's watch, wherever it is.
  const watcher = await watchKeyFile({
    keyFile: config.keyFile, mode: config.watchMode, alsoWatch: [config.clientsFile],
    onChange: (trigger) => void reload(trigger),
    onError: (err) => logger.error('key watch error', { error: err.message }),
  });
  const stopAgeWarnings = config.maxKeyAgeMs === undefined ? undefined
    : startKeyAgeWarnings({ store, maxAgeMs: config.maxKeyAgeMs, logger });

  const forwarder = config.upstream && createForwarder({
    upstream: config.upstream, timeoutMs: config.upstreamTimeoutMs, maxBodyBytes: config.maxBodyBytes, logger,
    writeTimeoutMs: config.writeTimeoutMs, draining: () => !status.accepting, clientHeader: config.clientHeader,
  });
  const app = createApp({
    store, metrics, logger, version,
    status: () => status,
    forward: forwarder || undefined,
    upstream: createUpstreamMonitor({ url: config.upstream, probe: probeUpstream }),
    readyRequiresUpstream: config.readyRequiresUpstream,
    throttle: config.authFailLimit && new FailureThrottle({ rate: config.authFailLimit }),
    trustConnection: (socket) => connections?.trust(socket),
    maxKeyAgeMs: config.maxKeyAgeMs,
  });
  const cap = connectionCap(config.maxConnections, config.upstream ? 2 : 1, openFileLimit());
  if (cap.max < config.maxConnections) {
    logger.warn('max connections lowered to fit the open-file limit', { requested: config.maxConnections, maxConnections: cap.max, openFileLimit: cap.openFileLimit });
  }
  const http = createHttpServer(app.callback(), {
    headerTimeoutMs: config.headerTimeoutMs, requestTimeoutMs: config.upstreamTimeoutMs, logger,
    limits: { max: cap.max, perClient: config.maxConnectionsPerIp }, tls: tls?.listenOptions,
  });
  const { listener } = http;
  const { server } = listener;
  connections = http.connections;
  if (tls && 'setSecureContext' in server) await tls.watch(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  const url = `${listener.scheme}://${host}:${port}`;
  logger.info('listening', { host: config.host, port, url, maxConnections: cap.max, maxConnectionsPerIp: config.maxConnectionsPerIp ?? 'off' });
  if (!tls && !isLoopback(address)) {
    logger.warn('listening beyond loopback without TLS: keys cross the network readable; use --tls-cert and --tls-key', { host: config.host });
  }

  let stopping: Promise<void> | undefined;
  return {
    server,
    url,
    closeAllConnections: () => listener.closeAll(),
    reload(trigger) {
      void tls?.reload(trigger);
      return reload(trigger);
    },
    shutdown(reason) {
      stopping ??= (async () => {
        status.accepting = false;
        logger.info('shutting down', { reason, drainTimeoutMs: config.drainTimeoutMs });
        await drainServer(listener, { timeoutMs: config.drainTimeoutMs, logger });
        stopAgeWarnings?.();
        await Promise.allSettled([watcher.close(), tls?.close(), forwarder ? forwarder.close() : undefined]);
        reloader.close();
        clients.close();
        logger.info('stopped', { reason });
      })();
      return stopping;
    },
  };
}
