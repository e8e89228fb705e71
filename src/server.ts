import { readFile } from 'node:fs/promises';
import { ConfigError, USAGE, loadConfig } from './config.js';
import type { Config } from './config.js';
import { startDaemon } from './daemon.js';
import { createLogger } from './logger.js';

// Entry point: configuration, logger, daemon, signals. The only module here that touches `process`.
let config: Config | 'help';
try {
  config = loadConfig(process.argv.slice(2), process.env);
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`qwen-key-daemon: ${err.message}\n`);
  process.exit(2);
}
if (config === 'help') {
  process.stdout.write(USAGE + '\n');
  process.exit(0);
}

const logger = createLogger({ level: config.logLevel, json: !process.stdout.isTTY });
const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
if (config.workers !== 1) logger.warn('--workers other than 1 is not supported by this entry point; running one process', { workers: config.workers });

let daemon: Awaited<ReturnType<typeof startDaemon>> | undefined;
try {
  daemon = await startDaemon(config, logger, version);
} catch (err) {
  logger.error('cannot start', { error: (err as Error).message });
  // A watch may already be running; exit once the log line is out.
  logger.on('finish', () => process.exit(1));
  logger.end();
  setTimeout(() => process.exit(1), 1000).unref();
  await new Promise(() => {}); // never resolves: nothing below runs
}
const running = daemon!;

process.on('SIGHUP', () => {
  logger.info('reload requested', { signal: 'SIGHUP' });
  void running.reload('SIGHUP');
});
let signalled = 0;
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.on(signal, () => {
    if (++signalled > 1) {
      logger.warn('second signal; closing all connections now', { signal });
      running.server.closeAllConnections();
      return;
    }
    void running.shutdown(signal).then(() => {
      process.exitCode = 0;
      // Everything is closed, so the process ends by itself; this only catches a stray handle.
      setTimeout(() => process.exit(0), 2000).unref();
    });
  });
}
