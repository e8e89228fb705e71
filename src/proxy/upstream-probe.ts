import { performance } from 'node:perf_hooks';
import { request, type Dispatcher } from 'undici';

/** What a probe learned: any HTTP answer means reachable, with the time to its headers. */
export interface UpstreamProbe {
  reachable: boolean;
  latencyMs?: number;
  status?: number;
  error?: string;
}

/** Short, key-free description of why the probe failed (error code or name). */
function describe(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as NodeJS.ErrnoException).code ?? (err.cause as NodeJS.ErrnoException | undefined)?.code;
    return typeof code === 'string' ? code : err.name;
  }
  return 'unknown error';
}

/** GETs `url` once within `timeoutMs` and reports reachability and latency; never throws. */
export async function probeUpstream(url: URL, timeoutMs: number, dispatcher?: Dispatcher): Promise<UpstreamProbe> {
  const started = performance.now();
  try {
    // reset: the probe closes its connection so health checks never pin sockets open.
    const { statusCode, body } = await request(url, {
      method: 'GET',
      reset: true,
      signal: AbortSignal.timeout(timeoutMs),
      headersTimeout: timeoutMs,
      ...(dispatcher ? { dispatcher } : {}),
    });
    const latencyMs = Math.round(performance.now() - started);
    body.on('error', () => {}); // destroying an unread body emits an abort error nobody needs
    body.destroy();
    return { reachable: true, latencyMs, status: statusCode };
  } catch (err) {
    return { reachable: false, error: describe(err) };
  }
}
