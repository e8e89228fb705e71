import { formatStamp } from '../core/history.js';
import { isLoopback, probeKeys } from './server-check.js';
import type { KeyProbe } from './server-check.js';
import type { KeyStatus } from './key-status.js';
import type { ServerUrl } from './server-url.js';

/** What the `test` command needs: what the files say, where the server is, and where to print. */
export interface ServerTest {
  status: KeyStatus;
  /** Where the server is asked, and what chose that (the hint for an unreachable server says how to change it). */
  server: ServerUrl;
  /** Present the previous key too (`--previous`); never sent unless asked. */
  previous: boolean;
  /** Whether `fetch` presents a client certificate (--cert). */
  clientCertificate?: boolean;
  fetch?: typeof fetch;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/**
 * `manage-key test`: presents the current key (and, with --previous, the previous one) to the server's
 * health route and compares the answers with what the files say; resolves to the exit code. A URL that
 * is neither loopback nor https gets a warning first: the key would cross the network in clear text.
 */
export async function testServer(test: ServerTest): Promise<number> {
  const { status, stdout, stderr } = test;
  const base = test.server.url;
  if (base.protocol !== 'https:' && !isLoopback(base)) {
    stderr(`manage-key: warning: ${base.href} is neither loopback nor https; the key crosses the network in clear text\n`);
  }
  const probes: KeyProbe[] = [{ label: 'current key', key: status.current.key, expect: 'accepted' }];
  const { previous } = status;
  const label = previous?.origin === 'revoked' ? 'previous key (revoked)'
    : previous?.valid ? `previous key (valid until ${formatStamp(previous.until)})` : undefined;
  if (previous && label && test.previous) {
    probes.push({ label, key: previous.key, expect: previous.origin === 'revoked' ? 'rejected' : 'accepted' });
  }
  const results = await probeKeys({ base, probes, fetch: test.fetch, clientCertificate: test.clientCertificate });
  for (const r of results) {
    // Unreachable is no answer at all: what was expected of it says nothing, and stderr says what to do.
    const expected = r.ok || r.outcome === 'unreachable' ? '' : `; expected ${r.expected}`;
    stdout(`${r.ok ? 'ok  ' : 'FAIL'} ${r.label} ${r.fingerprint}: ${r.outcome} (${r.detail}${expected})\n`);
  }
  if (label && !test.previous) stdout(`skip ${label}: not sent; add --previous to check it too\n`);
  const failed = results.filter((r) => !r.ok);
  if (failed.length === 0) {
    stdout(`The server at ${base.href} answers as the key files say.\n`);
    return 0;
  }
  const unreachable = failed.find((r) => r.outcome === 'unreachable');
  stderr(`manage-key: ${unreachable ? `cannot reach the server at ${base.href} (${unreachable.detail}; ${unreachable.hint ?? WHERE[test.server.origin]})`
    : `the server at ${base.href} does not answer as the key files say: ${failed.map((r) => `${r.label} ${r.outcome}`).join('; ')}`}\n`);
  return 1;
}

// For a server not found where it was looked for: what chose that place, and how to name another.
const WHERE: Record<ServerUrl['origin'], string> = {
  flag: 'is the server running at that --url?',
  env: 'is the server running? This address comes from PORT and HOST, as the server reads them; give another with --url URL',
  default: 'is the server running? If it listens elsewhere, give its URL with --url URL, or the PORT (and HOST) it was started with',
};
