import { expect } from 'chai';
import { HEALTH_PATH, healthUrl, isLoopback, probeKeys } from '../../src/cli/server-check.js';

const KEY = 'qwk_server_check_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6';
// sha256: + the first 12 hex digits of KEY's SHA-256, written out.
const FINGERPRINT = 'sha256:f31251faeafc';

/** A fetch that answers `status`, or throws `error`, recording what it was asked. */
function fakeFetch(answer: number | Error): { fetch: typeof fetch; asked: Array<{ url: string; init: RequestInit }> } {
  const asked: Array<{ url: string; init: RequestInit }> = [];
  const fake = (async (url: URL, init: RequestInit) => {
    asked.push({ url: String(url), init });
    if (answer instanceof Error) throw answer;
    return new Response(null, { status: answer });
  }) as unknown as typeof fetch;
  return { fetch: fake, asked };
}

describe('server check (manage-key test)', () => {
  it('takes localhost, *.localhost, 127.0.0.0/8, ::1 and IPv4-mapped 127/8 as loopback, in any case', () => {
    for (const url of ['http://localhost:8000', 'http://LOCALHOST', 'http://api.localhost', 'http://127.0.0.1', 'http://127.9.8.7:1',
      'http://[::1]:8000', 'http://[::ffff:127.0.0.1]', 'http://[::FFFF:7F00:1]']) {
      expect(isLoopback(new URL(url)), url).to.equal(true);
    }
  });

  it('takes anything else as remote: other hosts, addresses merely containing loopback ones', () => {
    for (const url of ['http://example.com', 'http://localhost.example.com', 'http://mylocalhost', 'http://10.0.0.1', 'http://128.0.0.1',
      'http://1.127.0.0.1.example', 'http://[::2]', 'http://[::ffff:10.0.0.1]', 'http://[::ffff:8f00:1]', 'http://[2001:db8::ffff:7f00:1]']) {
      expect(isLoopback(new URL(url)), url).to.equal(false);
    }
  });

  it('asks the health route under the base URL\'s path, without its query', () => {
    expect(HEALTH_PATH).to.equal('/api/v1/health');
    expect(String(healthUrl(new URL('http://h:1')))).to.equal('http://h:1/api/v1/health');
    expect(String(healthUrl(new URL('http://h:1/prefix//?x=1')))).to.equal('http://h:1/prefix/api/v1/health');
  });

  it('reports each key by fingerprint: 200 accepted, 401 rejected, anything else unexpected', async () => {
    for (const [status, outcome] of [[200, 'accepted'], [401, 'rejected'], [500, 'unexpected'], [400, 'unexpected']] as const) {
      const { fetch } = fakeFetch(status);
      const [result] = await probeKeys({ base: new URL('http://h:1'), fetch, probes: [{ label: 'current key', key: KEY, expect: 'accepted' }] });
      expect(result).to.deep.equal({ label: 'current key', fingerprint: FINGERPRINT, expected: 'accepted', outcome, detail: `HTTP ${status}`, ok: outcome === 'accepted' });
    }
  });

  it('sends the key in X-API-Key and never follows a redirect, saying so for 3xx only', async () => {
    for (const [status, detail] of [[299, 'HTTP 299'], [300, 'HTTP 300, a redirect, not followed'], [302, 'HTTP 302, a redirect, not followed'],
      [399, 'HTTP 399, a redirect, not followed']] as const) {
      const { fetch, asked } = fakeFetch(status);
      const [result] = await probeKeys({ base: new URL('http://h:1'), fetch, probes: [{ label: 'k', key: KEY, expect: 'rejected' }] });
      expect(result!.detail, String(status)).to.equal(detail);
      expect(asked[0]!.init).to.deep.include({ redirect: 'manual', headers: { 'X-API-Key': KEY } });
    }
  });

  it('names why a server cannot be reached: no answer in time, the cause\'s code, else its message', async () => {
    const reach = async (err: Error) => (await probeKeys({ base: new URL('http://h:1'), fetch: fakeFetch(err).fetch, probes: [{ label: 'k', key: KEY, expect: 'accepted' }] }))[0]!;
    expect(await reach(Object.assign(new Error('t'), { name: 'TimeoutError' }))).to.deep.include({ outcome: 'unreachable', detail: 'no answer in time', ok: false });
    expect((await reach(new Error('fetch failed', { cause: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }))).detail).to.equal('ECONNREFUSED');
    expect((await reach(new Error('fetch failed', { cause: new Error('socket hang up') }))).detail).to.equal('socket hang up');
    expect((await reach(new Error('bare failure'))).detail).to.equal('bare failure');
    expect((await reach(new Error('fetch failed', { cause: Object.assign(new Error('x'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' }) }))).detail)
      .to.equal('SELF_SIGNED_CERT_IN_CHAIN; give the server\'s CA with --ca FILE');
  });

  it('gives up on a server that does not answer within the time given', async () => {
    const never = (async (_url: URL, init: RequestInit) => new Promise((_resolve, reject) => {
      init.signal!.addEventListener('abort', () => reject(init.signal!.reason));
    })) as unknown as typeof fetch;
    const [result] = await probeKeys({ base: new URL('http://h:1'), fetch: never, timeoutMs: 20, probes: [{ label: 'k', key: KEY, expect: 'accepted' }] });
    expect(result!.detail).to.equal('no answer in time');
  });
});
