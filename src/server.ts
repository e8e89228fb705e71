import cluster from 'node:cluster';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'winston';
import { ConfigError, USAGE, loadConfig } from './server/config.js';
import type { Config } from './server/config.js';
import { startDaemon } from './server/daemon.js';
import type { Daemon } from './server/daemon.js';
import { createLogger } from './server/logger.js';
import { showKeyCommand } from './server/show-key-command.js';
import { describeStartFailure } from './server/start-failure.js';
import { isClusterPrimary, runPrimary } from './server/workers.js';

// Entry point: configuration, logger, then either the cluster primary or the daemon, and signals.
// The only module here that touches `process`.

/** How much longer than a worker's own drain the primary waits before killing it. */
const PRIMARY_DRAIN_MARGIN_MS = 5000;

const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

let config: Config | 'help' | 'version';
try {
  config = loadConfig(process.argv.slice(2), process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`qwen-key-daemon: ${err.message}\n`);
  process.exit(2);
}
if (config === 'help' || config === 'version') {
  process.stdout.write(config === 'help' ? `${USAGE}\n` : `qwen-key-daemon ${version}\n`);
  process.exit(0);
}

const logger = createLogger({ level: config.logLevel, json: !process.stdout.isTTY, stream: process.stdout });
if (isClusterPrimary(config.workers)) {
  // The primary only supervises: it loads no key and watches nothing, so every worker stands on its own.
  // Workers bound their own drain; the primary's deadline comes later and only catches a stuck one.
  process.exitCode = await runPrimary({
    workers: config.workers, logger, signals: process,
    drainTimeoutMs: config.drainTimeoutMs + PRIMARY_DRAIN_MARGIN_MS,
  });
} else if (cluster.isWorker) {
  await serve(config, logger.child({ pid: process.pid }), true);
} else {
  await serve(config, logger, false);
}

/** Runs the daemon in this process until SIGTERM/SIGINT; SIGHUP reloads the key. */
async function serve(config: Config, logger: Logger, inWorker: boolean): Promise<void> {
  // Handlers go in before the daemon starts: a signal's default action would end the process, and
  // the primary passes signals on to every worker, including one still starting after a restart.
  let daemon: Daemon | undefined;
  let reloadWhenStarted = false;
  process.on('SIGHUP', () => {
    logger.info('reload requested', { signal: 'SIGHUP' });
    if (daemon) void daemon.reload('SIGHUP');
    else reloadWhenStarted = true;
  });
  let signalled = 0;
  const stop = (signal: NodeJS.Signals): void => {
    // Nothing is accepted before the daemon listens, so there is nothing to drain (exit code 1 if it failed).
    if (!daemon) process.exit();
    if (++signalled > 1) {
      // A worker gets both the terminal's signal and the primary's forwarded copy: a repeat must not cut the drain.
      if (inWorker) return;
      logger.warn('second signal; closing all connections now', { signal });
      daemon.closeAllConnections();
      return;
    }
    void daemon.shutdown(signal).then(() => {
      // A worker's channel to the primary would keep it alive; everything else is closed, so leave now.
      if (inWorker) process.exit(0);
      process.exitCode = 0;
      // Everything is closed, so the process ends by itself; this only catches a stray handle.
      setTimeout(() => process.exit(0), 2000).unref();
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);

  const cwd = process.cwd();
  const repoRoot = fileURLToPath(new URL('..', import.meta.url));
  try {
    daemon = await startDaemon(config, logger, version, {
      identity: { uid: process.geteuid?.(), platform: process.platform },
      showKeyCommand: showKeyCommand({ cwd, repoRoot, keyFile: config.keyFile }),
    });
  } catch (err) {
    // The JSON line for log collectors, and one plain line on stderr for the person at the terminal.
    const { line, exitCode } = describeStartFailure(err, { host: config.host, port: config.port, keyFile: resolve(cwd, config.keyFile), cwd });
    logger.error('cannot start', { error: (err as Error).message, exitCode });
    process.stderr.write(`qwen-key-daemon: ${line}\n`);
    process.exitCode = exitCode;
    // A watch may already be running; exit once the log line is out.
    logger.on('finish', () => process.exit(exitCode));
    logger.end();
    setTimeout(() => process.exit(exitCode), 1000).unref();
    return new Promise(() => {}); // never resolves: the process exits
  }
  if (reloadWhenStarted) void daemon.reload('SIGHUP');
}
