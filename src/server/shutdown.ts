import type { Server } from 'node:http';
import type { Logger } from 'winston';

/** Options for drainServer. */
export interface DrainOptions {
  /** Longest wait for requests in flight; then remaining connections are cut. */
  timeoutMs: number;
  logger: Logger;
  /** How often idle keep-alive connections are closed while draining. */
  sweepMs?: number;
}

/**
 * Stops accepting and resolves once every connection is gone. Requests in flight finish; keep-alive
 * connections are closed as soon as they fall idle (Node would otherwise hold them for their timeout).
 */
export function drainServer(server: Server, options: DrainOptions): Promise<void> {
  return new Promise((resolve) => {
    const sweep = setInterval(() => server.closeIdleConnections(), options.sweepMs ?? 25);
    const deadline = setTimeout(() => {
      options.logger.warn('drain timeout reached; closing remaining connections', { drainTimeoutMs: options.timeoutMs });
      server.closeAllConnections();
    }, options.timeoutMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
      resolve();
    });
    server.closeIdleConnections();
  });
}
