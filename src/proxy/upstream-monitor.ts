/** What a probe of the upstream found (the shape `probeUpstream` resolves to). */
export interface ProbeResult {
  reachable: boolean;
  latencyMs?: number;
  status?: number;
  error?: string;
}

/** The upstream as health and readiness report it. */
export interface UpstreamInfo extends Partial<ProbeResult> {
  configured: boolean;
  url?: string;
  checkedAt?: string;
}

/** Answers "is the upstream there?" from a cached probe, so health stays cheap and never waits long. */
export interface UpstreamMonitor {
  /** The latest known state; waits for a first probe only if there has never been one. */
  info(): Promise<UpstreamInfo>;
  /** The latest known state without waiting (undefined before the first probe); refreshes it if stale. */
  peek(): UpstreamInfo | undefined;
}

/** Options for createUpstreamMonitor. */
export interface UpstreamMonitorOptions {
  url?: URL;
  probe?: (url: URL, timeoutMs: number) => Promise<ProbeResult>;
  timeoutMs?: number;
  /** Probe results older than this are refreshed in the background. */
  maxAgeMs?: number;
  clock?: () => number;
}

/** Builds a monitor; without a URL it reports `configured: false`, without a probe it reports no reachability. */
export function createUpstreamMonitor(options: UpstreamMonitorOptions): UpstreamMonitor {
  const { url, probe } = options;
  const clock = options.clock ?? Date.now;
  const timeoutMs = options.timeoutMs ?? 2000;
  const maxAgeMs = options.maxAgeMs ?? 5000;
  // The same object each time while nothing changes, so callers can cache what they build from it.
  const none: UpstreamInfo = { configured: false };
  if (!url) return { info: () => Promise.resolve(none), peek: () => none };
  // Only the origin: a URL may carry credentials, which health must not show.
  const base: UpstreamInfo = { configured: true, url: url.origin };
  if (!probe) return { info: () => Promise.resolve(base), peek: () => base };

  let latest: { info: UpstreamInfo; at: number } | undefined;
  let pending: Promise<UpstreamInfo> | undefined;
  const refresh = (): Promise<UpstreamInfo> => {
    pending ??= probe(url, timeoutMs)
      .catch((err: Error): ProbeResult => ({ reachable: false, error: err.message }))
      .then((result) => {
        const at = clock();
        latest = { info: { configured: true, url: url.origin, ...result, checkedAt: new Date(at).toISOString() }, at };
        return latest.info;
      })
      .finally(() => { pending = undefined; });
    return pending;
  };
  const peek = (): UpstreamInfo | undefined => {
    if (!latest || clock() - latest.at > maxAgeMs) void refresh();
    return latest?.info;
  };
  return {
    info: () => {
      const known = peek();
      return known ? Promise.resolve(known) : refresh();
    },
    peek,
  };
}
