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
    expect(await reach(new Error('fetch failed', { cause: new Error('socket hang up') }))).to.not.have.property('hint');
  });

  describe('what to try when a TLS connection fails', () => {
    const failed = (code: string) => new Error('fetch failed', { cause: Object.assign(new Error('x'), { code }) });
    const reach = async (url: string, err: Error, clientCertificate?: boolean) => (await probeKeys({
      base: new URL(url), fetch: fakeFetch(err).fetch, clientCertificate, probes: [{ label: 'k', key: KEY, expect: 'accepted' }],
    }))[0]!;

    it('a server certificate that does not verify: give the server\'s CA, apart from the code', async () => {
      for (const code of ['SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED']) {
        expect(await reach('https://h:1', failed(code)), code).to.deep.include({ detail: code, hint: 'give the server\'s CA with --ca FILE' });
      }
    });

    it('a handshake the server cut short, without a client certificate: the server may require one (--cert, --cert-key)', async () => {
      for (const code of ['UND_ERR_SOCKET', 'ECONNRESET', 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED']) {
        expect(await reach('https://h:1', failed(code)), code).to.deep.include({
          detail: code, hint: 'the server may require a client certificate: give one with --cert FILE --cert-key FILE',
        });
      }
    });

    it('a handshake the server cut short, with a client certificate: it may not accept that one', async () => {
      for (const code of ['UND_ERR_SOCKET', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA']) {
        expect(await reach('https://h:1', failed(code), true), code).to.deep.include({ hint: 'the server may not accept this client certificate (--cert)' });
      }
    });

    it('no client-certificate hint over plain http, nor for other codes', async () => {
      for (const [url, code] of [['http://h:1', 'UND_ERR_SOCKET'], ['http://h:1', 'ECONNRESET'], ['https://h:1', 'ECONNREFUSED'], ['https://h:1', 'XUND_ERR_SOCKET'],
        ['https://h:1', 'UND_ERR_SOCKETS'], ['https://h:1', 'ERR_SSL_WRONG_VERSION_NUMBER']] as const) {
        expect(await reach(url, failed(code)), `${url} ${code}`).to.not.have.property('hint');
      }
    });

    it('a client certificate with a key of another: says that --cert-key does not belong to --cert', async () => {
      expect(await reach('https://h:1', failed('ERR_OSSL_X509_KEY_VALUES_MISMATCH'))).to.deep.include({
        detail: 'ERR_OSSL_X509_KEY_VALUES_MISMATCH', hint: '--cert-key is not the private key of the --cert certificate',
      });
    });
  });

  it('gives up on a server that does not answer within the time given', async () => {
    const never = (async (_url: URL, init: RequestInit) => new Promise((_resolve, reject) => {
      init.signal!.addEventListener('abort', () => reject(init.signal!.reason));
    })) as unknown as typeof fetch;
    const [result] = await probeKeys({ base: new URL('http://h:1'), fetch: never, timeoutMs: 20, probes: [{ label: 'k', key: KEY, expect: 'accepted' }] });
    expect(result!.detail).to.equal('no answer in time');
  });
});
