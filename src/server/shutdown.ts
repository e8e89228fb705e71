import type { Logger } from 'winston';
import type { Listener } from './tls/listener.js';

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
 * connections are closed as soon as they fall idle (Node would otherwise hold them for their timeout),
 * HTTP/2 sessions get GOAWAY and close once their streams are done.
 */
export function drainServer(listener: Pick<Listener, 'server' | 'closeIdle' | 'closeAll'>, options: DrainOptions): Promise<void> {
  const { server } = listener;
  return new Promise((resolve) => {
    const sweep = setInterval(() => listener.closeIdle(), options.sweepMs ?? 25);
    const deadline = setTimeout(() => {
      options.logger.warn('drain timeout reached; closing remaining connections', { drainTimeoutMs: options.timeoutMs });
      listener.closeAll();
    }, options.timeoutMs);
    server.close(() => {
      clearInterval(sweep);
      clearTimeout(deadline);
      resolve();
    });
    listener.closeIdle();
  });
}
