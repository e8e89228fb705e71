// A stand-in for the daemon's entry point: the real primary logic, with a tiny node:http server as the worker.
// argv: WORKERS [fail]. Workers answer with their pid; /slow logs 'slow request' and answers after 300 ms;
// `fail` workers exit at once.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import winston from 'winston';
import { isClusterPrimary, parseWorkers, runPrimary } from '../../../src/server/workers.js';

const workers = parseWorkers(process.argv[2] ?? '2');
const logger = winston.createLogger({ level: 'info', format: winston.format.json(), transports: [new winston.transports.Console()] });

if (isClusterPrimary(workers)) {
  process.exitCode = await runPrimary({ workers, logger, restartBackoffMs: 50, drainTimeoutMs: 5000, signals: process });
} else if (process.argv[3] === 'fail') {
  process.exit(1);
} else {
  const server = createServer((req, res) => {
    const delay = req.url === '/slow' ? 300 : 0;
    if (delay > 0) logger.info('slow request', { pid: process.pid });
    setTimeout(() => res.end(String(process.pid)), delay);
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    logger.info('listening', { host: '127.0.0.1', port, url: `http://127.0.0.1:${port}`, pid: process.pid });
  });
  process.on('SIGHUP', () => logger.info('hup', { pid: process.pid }));
  // A repeated signal (terminal plus forwarded) must not cut the drain short, hence on() and a flag.
  let draining = false;
  const drain = (): void => {
    if (draining) return;
    draining = true;
    server.close(() => process.exit(0));
    server.closeIdleConnections();
  };
  process.on('SIGTERM', drain);
  process.on('SIGINT', drain);
}
