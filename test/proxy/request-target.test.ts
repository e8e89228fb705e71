import { expect } from 'chai';
import fc from 'fast-check';
import { parseRequestTarget } from '../../src/proxy/request-target.js';

/** What a backend that percent-decodes `times` times and then normalises (as WHATWG URL does) makes of a path. */
function backendView(path: string, times: number): string {
  let decoded = path;
  for (let i = 0; i < times; i++) decoded = decoded.replace(/%[0-9a-f]{2}/gi, (code) => String.fromCharCode(parseInt(code.slice(1), 16)));
  return new URL(decoded.replace(/[?#]/g, '_'), 'http://backend').pathname;
}

describe('request target: one parse for routing and forwarding', () => {
  it('keeps an origin-form path and its query exactly as sent', () => {
    expect(parseRequestTarget('/api/v1/edit/a.png?steps=20&x=../y')).to.deep.equal({ path: '/api/v1/edit/a.png', query: '?steps=20&x=../y' });
    expect(parseRequestTarget('/api/v1/health')).to.deep.equal({ path: '/api/v1/health', query: '' });
    expect(parseRequestTarget('/api/v1/a%20b%C3%A9')).to.deep.equal({ path: '/api/v1/a%20b%C3%A9', query: '' });
  });

  it('reduces an absolute-form target to its path and query as written, never normalised', () => {
    expect(parseRequestTarget('http://x/api/v1/edit?a=1')).to.deep.equal({ path: '/api/v1/edit', query: '?a=1' });
    expect(parseRequestTarget('HTTPS://my_host.example:8443/livez')).to.deep.equal({ path: '/livez', query: '' });
    expect(parseRequestTarget('http://[::1]:80?q')).to.deep.equal({ path: '/', query: '?q' });
    expect(parseRequestTarget('http://x/api/v1/../../admin')).to.equal('escape');
  });

  it('refuses absolute-form targets without a plain host, with user info or another scheme as malformed', () => {
    for (const target of ['http:///api/v1/x', 'http://user@x/api/v1/x', 'ftp://x/api/v1/x', 'http://[::1', 'http://[fe80::1%25eth0]/', '*', 'api/v1/x', '']) {
      expect(parseRequestTarget(target), target).to.equal('malformed');
    }
  });

  it('refuses dot segments, plain or encoded, with parameters or trailing blanks', () => {
    for (const path of ['/api/v1/..', '/api/v1/.', '/api/v1/../x', '/api/v1/%2e%2E/x', '/api/v1/.%2e/x', '/api/v1/..;/x', '/api/v1/%2e;a=b/x', '/api/v1/..%20/x']) {
      expect(parseRequestTarget(path), path).to.equal('escape');
    }
  });

  it('refuses backslashes, encoded slashes, double encoding and encoded control characters', () => {
    for (const path of ['/api/v1/a\\b', '/api/v1/a%5cb', '/api/v1/a%2fb', '/api/v1/%252e%252e%252fx', '/api/v1/%25252e%25252e/x', '/api/v1/a%00', '/api/v1/a%0d%0a']) {
      expect(parseRequestTarget(path), path).to.equal('escape');
    }
  });

  it('refuses broken percent-encoding and fragments as malformed', () => {
    for (const target of ['/api/v1/%', '/api/v1/%zz', '/api/v1/%2', '/api/v1/x#y', '/api/v1/x?a#b']) {
      expect(parseRequestTarget(target), target).to.equal('malformed');
    }
  });

  it('accepts dots that are not segments and single-encoded percent signs', () => {
    for (const path of ['/api/v1/a.png', '/api/v1/...', '/api/v1/.well-known', '/api/v1/a..b', '/api/v1/100%25', '/api/v1/a;b=c']) {
      expect(parseRequestTarget(path), path).to.deep.equal({ path, query: '' });
    }
  });

  it('property: whatever a backend decoding up to three times makes of an accepted path stays inside /api/v1', () => {
    const piece = fc.constantFrom('.', '..', '/', '%2e', '%2E', '%2f', '%5c', '%25', '%252e', '\\', ';', 'a', '%00', ' ', '%20', '2e');
    fc.assert(fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
      const target = parseRequestTarget('/api/v1/' + pieces.join(''));
      if (typeof target === 'string') return true;
      return [0, 1, 2, 3].every((times) => backendView(target.path, times).startsWith('/api/v1/'));
    }), { numRuns: 5000 });
  });
});
