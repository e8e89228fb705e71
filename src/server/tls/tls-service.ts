import type { Server as TlsServer } from 'node:tls';
import type { Registry } from 'prom-client';
import type { Logger } from 'winston';
import { watchFiles } from '../reload/file-watcher.js';
import type { FileWatcher, WatchMode } from '../reload/file-watcher.js';
import type { TlsFiles } from './cert-files.js';
import { startExpiryWarnings } from './cert-expiry.js';
import { CertReloader } from './cert-reloader.js';
import type { CertReloadOutcome, CertificateSummary } from './cert-reloader.js';
import type { TlsListenOptions } from './listener.js';
import { createTlsMetrics } from './tls-metrics.js';

/** What startTls needs. */
export interface TlsServiceOptions {
  files: TlsFiles;
  watchMode: WatchMode;
  logger: Logger;
  /** The app's metrics registry, which gets the TLS metrics. */
  registry: Registry;
  clock?: () => number;
  /** The file watch; tests give their own to see what is watched and to raise its errors. */
  watchFiles?: typeof watchFiles;
}

/** The certificate side of a running daemon. */
export interface TlsService {
  /** The pair in force at start, for creating the server. */
  readonly listenOptions: TlsListenOptions;
  /** The certificate in force as health shows it. */
  summary(): CertificateSummary | undefined;
  /** Starts watching the files; each good new pair goes into `server` for the handshakes that follow. */
  watch(server: TlsServer): Promise<void>;
  /** Re-reads the files now (SIGHUP). */
  reload(trigger: string): Promise<CertReloadOutcome>;
  close(): Promise<void>;
}

/**
 * Loads the certificate and key (throws a TlsError when they cannot serve: unreadable, mismatched,
 * expired), with its metrics and renewal reminders. The watch starts once the server exists.
 */
export async function startTls(options: TlsServiceOptions): Promise<TlsService> {
  const { files, logger } = options;
  const metrics = createTlsMetrics(options.registry, () => reloader.summary);
  const warnings = startExpiryWarnings(() => reloader.summary, { logger, clock: options.clock });
  const reloader: CertReloader = new CertReloader({
    files, logger, clock: options.clock,
    onReload: (outcome) => metrics.certReload(outcome),
    onLoad: (info) => warnings.check(info),
  });
  let watcher: FileWatcher | undefined;
  try {
    const pair = await reloader.initialise();
    return {
      listenOptions: { context: pair.context, requireClientCertificates: files.ca !== undefined },
      summary: () => reloader.summary,
      async watch(server) {
        reloader.attach((context) => server.setSecureContext(context));
        watcher = await (options.watchFiles ?? watchFiles)({
          files: [files.cert, files.key, ...(files.ca === undefined ? [] : [files.ca])],
          mode: options.watchMode,
          onChange: (trigger) => void reloader.reload(trigger),
          onError: (err) => logger.error('TLS watch error', { error: err.message }),
        });
      },
      reload: (trigger) => reloader.reload(trigger),
      async close() {
        warnings.stop();
        await watcher?.close();
      },
    };
  } catch (err) {
    warnings.stop();
    throw err;
  }
}
