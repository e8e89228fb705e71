import assert from 'node:assert/strict';
import { DEFAULT_CLIENT_HEADER, cgiName, clientResponseHeaders, forwarderOwns, upstreamRequestHeaders, withoutHopByHop } from '../../src/proxy/forward-headers.js';
import { resolveRequestId } from '../../src/proxy/request-id.js';
import { BodyTooLargeError, declaredLengthExceeds } from '../../src/proxy/body-limit.js';
import { classifyUpstreamError } from '../../src/proxy/upstream-error.js';

const base = { remoteAddress: '127.0.0.1', protocol: 'http', host: 'daemon:8000', requestId: 'r1', upstreamHost: 'backend:7860' };

describe('forward-headers', () => {
  it('removes fixed hop-by-hop headers and those named in Connection', () => {
    const out = withoutHopByHop({
      connection: 'close, X-Secret-Hop', 'x-secret-hop': '1', 'keep-alive': 'timeout=5', 'transfer-encoding': 'chunked',
      upgrade: 'websocket', 'proxy-authenticate': 'Basic', trailer: 'x', te: 'trailers', 'x-kept': 'yes',
    });
    assert.deepEqual(out, { 'x-kept': 'yes' });
  });

  it('strips credentials, replaces Host and appends to X-Forwarded-For', () => {
    const out = upstreamRequestHeaders({
      ...base,
      headers: { host: 'daemon:8000', 'x-api-key': 'k', authorization: 'Bearer k', 'x-forwarded-for': '10.0.0.1', expect: '100-continue' },
    });
    assert.deepEqual(out, {
      host: 'backend:7860', 'x-forwarded-for': '10.0.0.1, 127.0.0.1', 'x-forwarded-proto': 'http',
      'x-forwarded-host': 'daemon:8000', 'x-request-id': 'r1',
    });
  });

  it('starts X-Forwarded-For with the client\'s address when the client sent none', () => {
    const out = upstreamRequestHeaders({ ...base, headers: {} });
    assert.equal(out['x-forwarded-for'], '127.0.0.1');
  });

  it('joins repeated X-Forwarded-For headers in order, then the client\'s address', () => {
    const out = upstreamRequestHeaders({ ...base, headers: { 'x-forwarded-for': ['10.0.0.1', '10.0.0.2, 10.0.0.3'] } });
    assert.equal(out['x-forwarded-for'], '10.0.0.1, 10.0.0.2, 10.0.0.3, 127.0.0.1');
  });

  it('passes a prior X-Forwarded-For on alone when the client\'s address is unknown, and sends none with neither', () => {
    assert.equal(upstreamRequestHeaders({ ...base, remoteAddress: undefined, headers: { 'x-forwarded-for': '10.0.0.1' } })['x-forwarded-for'], '10.0.0.1');
    assert.equal('x-forwarded-for' in upstreamRequestHeaders({ ...base, remoteAddress: undefined, headers: {} }), false);
  });

  it('sends no X-Forwarded-Host when the request named no host, not even the client\'s', () => {
    const out = upstreamRequestHeaders({ ...base, host: '', headers: { 'x-forwarded-host': 'evil' } });
    assert.equal('x-forwarded-host' in out, false);
  });

  it('keeps the client\'s other headers, names lower-cased, and drops those without a value', () => {
    const out = upstreamRequestHeaders({ ...base, headers: { 'Content-Type': 'image/png', 'x-multi': ['a', 'b'], 'x-none': undefined } });
    assert.equal(out['content-type'], 'image/png');
    assert.deepEqual(out['x-multi'], ['a', 'b']);
    assert.equal('x-none' in out, false);
  });

  it('does not let the client choose X-Forwarded-Proto/Host or X-Request-Id', () => {
    const out = upstreamRequestHeaders({
      ...base, headers: { 'x-forwarded-proto': 'https', 'x-forwarded-host': 'evil', 'x-request-id': 'spoofed' },
    });
    assert.equal(out['x-forwarded-proto'], 'http');
    assert.equal(out['x-forwarded-host'], 'daemon:8000');
    assert.equal(out['x-request-id'], 'r1');
  });

  it('names the authenticated client in its header and drops a copy sent by the client, whatever its case', () => {
    const out = upstreamRequestHeaders({
      ...base, headers: { 'x-api-client': 'admin', 'X-Api-Client': 'root', 'x-kept': '1' }, apiClient: { header: 'x-api-client', name: 'alice' },
    });
    assert.equal(out['x-api-client'], 'alice');
    assert.equal(out['X-Api-Client'], undefined);
    assert.equal(out['x-kept'], '1');
  });

  it('drops a client\'s copy of the header even when no client is named, and uses a configured name', () => {
    const none = upstreamRequestHeaders({ ...base, headers: { 'x-api-client': 'admin' }, apiClient: { header: 'x-api-client', name: undefined } });
    assert.equal('x-api-client' in none, false);
    const custom = upstreamRequestHeaders({ ...base, headers: { 'x-consumer': 'admin', 'x-api-client': 'kept' }, apiClient: { header: 'x-consumer', name: 'bob' } });
    assert.equal(custom['x-consumer'], 'bob');
    assert.equal(custom['x-api-client'], 'kept');
    assert.equal(DEFAULT_CLIENT_HEADER, 'x-api-client');
  });

  it('drops a client\'s copy of the client header spelt with `_` for `-`, which CGI and WSGI read as the same', () => {
    const out = upstreamRequestHeaders({
      ...base, headers: { X_Api_Client: 'bob', 'x_API-client': 'eve', 'x-api_client': 'mallory' }, apiClient: { header: 'x-api-client', name: 'alice' },
    });
    assert.deepEqual(Object.keys(out).filter((name) => cgiName(name) === 'x-api-client'), ['x-api-client']);
    assert.equal(out['x-api-client'], 'alice');
  });

  it('drops a client\'s copy of a configured client header in either spelling, and sends it as configured', () => {
    const out = upstreamRequestHeaders({ ...base, headers: { 'X-Consumer': 'bob', x_consumer: 'eve' }, apiClient: { header: 'x_consumer', name: 'alice' } });
    assert.deepEqual(Object.keys(out).filter((name) => cgiName(name) === 'x-consumer'), ['x_consumer']);
    assert.equal(out['x_consumer'], 'alice');
  });

  it('drops the `_` spellings of every hop-by-hop field, credential and header it sets, in any case', () => {
    const names = ['Keep_Alive', 'Proxy_Connection', 'Proxy_Authenticate', 'Proxy_Authorization', 'Transfer_Encoding', 'HTTP2_Settings',
      'X_API_Key', 'x_api-key', 'X_Request_Id', 'X_Forwarded_For', 'X-Forwarded_Proto', 'x_forwarded_host'];
    const out = upstreamRequestHeaders({ ...base, headers: Object.fromEntries(names.map((n) => [n, 'client'])) });
    assert.deepEqual(out, {
      host: 'backend:7860', 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'http', 'x-forwarded-host': 'daemon:8000', 'x-request-id': 'r1',
    });
  });

  it('keeps other underscored headers as the client spelt them, lower-cased', () => {
    const out = upstreamRequestHeaders({ ...base, headers: { X_Custom: '1', 'x_api_client_version': '2' }, apiClient: { header: 'x-api-client', name: 'alice' } });
    assert.equal(out['x_custom'], '1');
    assert.equal(out['x_api_client_version'], '2');
  });

  it('reads a header name as CGI does: lower case, `_` as `-`', () => {
    assert.equal(cgiName('X_Api_Client'), 'x-api-client');
    assert.equal(cgiName('X-API-Key'), 'x-api-key');
  });

  it('drops the `_` spellings of hop-by-hop fields in an upstream\'s answer too', () => {
    assert.deepEqual(clientResponseHeaders({ Keep_Alive: 'timeout=5', transfer_encoding: 'chunked', 'x_kept': 'yes' }), { 'x_kept': 'yes' });
  });

  it('strips every hop-by-hop field, credential and replaced header by name, in any case', () => {
    const names = ['Connection', 'Keep-Alive', 'Proxy-Connection', 'Proxy-Authenticate', 'Proxy-Authorization', 'TE', 'Trailer',
      'Transfer-Encoding', 'Upgrade', 'HTTP2-Settings', 'X-API-Key', 'Authorization', 'Host', 'Expect', 'X-Request-Id',
      'X-Forwarded-Proto', 'X-Forwarded-Host'];
    const out = upstreamRequestHeaders({ ...base, headers: Object.fromEntries(names.map((n) => [n, 'client'])), host: '' });
    assert.deepEqual(out, { host: 'backend:7860', 'x-forwarded-for': '127.0.0.1', 'x-forwarded-proto': 'http', 'x-request-id': 'r1' });
  });

  it('joins repeated Connection and X-Forwarded-For values, and sends no X-Forwarded-For without any address', () => {
    const kept = withoutHopByHop({ connection: ['close', 'X-A, x-b'], 'x-a': '1', 'x-b': '2', 'x-c': '3' });
    assert.deepEqual(kept, { 'x-c': '3' });
    const out = upstreamRequestHeaders({ ...base, remoteAddress: undefined, headers: { 'x-forwarded-for': ['10.0.0.1', '10.0.0.2'] as unknown as string } });
    assert.equal(out['x-forwarded-for'], '10.0.0.1, 10.0.0.2');
    assert.equal('x-forwarded-for' in upstreamRequestHeaders({ ...base, remoteAddress: undefined, headers: {} }), false);
  });

  it('knows the headers it owns, which a client name may not take', () => {
    for (const name of ['Connection', 'TE', 'X-API-Key', 'authorization', 'Host', 'X-Request-Id', 'X-Forwarded-For', 'Content-Length', 'content-type']) {
      assert.equal(forwarderOwns(name), true, name);
    }
    for (const name of ['X-Api-Client', 'X-Consumer', 'Accept']) assert.equal(forwarderOwns(name), false, name);
  });

  it('owns the headers it owns in their `_` spellings too', () => {
    for (const name of ['Keep_Alive', 'X_API_Key', 'X_Forwarded_For', 'x_request_id', 'Content_Length']) assert.equal(forwarderOwns(name), true, name);
    for (const name of ['X_Api_Client', 'X_Consumer']) assert.equal(forwarderOwns(name), false, name);
  });

  it('drops every fixed hop-by-hop field, in any case, and keeps an ordinary one', () => {
    const hop = ['Connection', 'Keep-Alive', 'Proxy-Connection', 'Proxy-Authenticate', 'Proxy-Authorization', 'TE', 'Trailer',
      'Transfer-Encoding', 'Upgrade', 'HTTP2-Settings'];
    for (const name of hop) assert.deepEqual(withoutHopByHop({ [name]: 'x', 'x-kept': 'yes' }), { 'x-kept': 'yes' }, name);
  });

  it('drops the fields named in repeated Connection headers, with blanks and empty items', () => {
    const out = withoutHopByHop({ connection: [' X-One ,, ', 'x-two'], 'x-one': '1', 'x-two': '2', 'x-three': '3' });
    assert.deepEqual(out, { 'x-three': '3' });
  });

  it('reads repeated Connection headers as separate lists', () => {
    const out = withoutHopByHop({ connection: ['x-one', 'x-two'], 'x-one': '1', 'x-two': '2', 'x-three': '3' });
    assert.deepEqual(out, { 'x-three': '3' });
  });

  it('drops the extra names it is given, and only those', () => {
    assert.deepEqual(withoutHopByHop({ 'x-api-key': 'k', 'x-kept': 'yes' }, new Set(['x-api-key'])), { 'x-kept': 'yes' });
  });

  it('takes the first of a duplicated Content-Length, and an empty value for an empty list', () => {
    const out = clientResponseHeaders({ 'content-length': ['5', '6'], 'content-type': [] });
    assert.deepEqual(out, { 'content-length': '5', 'content-type': '' });
  });

  it('keeps multi-valued response headers and takes the first of a duplicated Content-Type', () => {
    const out = clientResponseHeaders({
      'set-cookie': ['a=1', 'b=2'], 'content-type': ['image/png', 'text/plain'], 'content-length': ['5', '7'], connection: 'keep-alive',
    });
    assert.deepEqual(out, { 'set-cookie': ['a=1', 'b=2'], 'content-type': 'image/png', 'content-length': '5' });
    assert.equal(clientResponseHeaders({ 'content-type': [] })['content-type'], '');
  });
});

describe('request-id', () => {
  it('prefers the app id, then a sane client id, then a generated one', () => {
    assert.equal(resolveRequestId('app', 'client', () => 'gen'), 'app');
    assert.equal(resolveRequestId(undefined, 'client-1', () => 'gen'), 'client-1');
    assert.equal(resolveRequestId(undefined, 'has space', () => 'gen'), 'gen');
    assert.equal(resolveRequestId(undefined, 'x'.repeat(129), () => 'gen'), 'gen');
    assert.equal(resolveRequestId('', undefined, () => 'gen'), 'gen');
  });
});

describe('body-limit and upstream-error', () => {
  it('flags a declared Content-Length over the limit only', () => {
    assert.equal(declaredLengthExceeds('1025', 1024), true);
    assert.equal(declaredLengthExceeds('1024', 1024), false);
    assert.equal(declaredLengthExceeds(undefined, 1024), false);
  });

  it('maps errors to 413, 504, 400 and 502', () => {
    const coded = (code: string): Error => Object.assign(new Error('x'), { code });
    assert.equal(classifyUpstreamError(new BodyTooLargeError(1)).status, 413);
    assert.equal(classifyUpstreamError(coded('UND_ERR_HEADERS_TIMEOUT')).status, 504);
    assert.equal(classifyUpstreamError(coded('UND_ERR_REQ_CONTENT_LENGTH_MISMATCH')).status, 400);
    assert.equal(classifyUpstreamError(new Error('wrapped', { cause: coded('ECONNREFUSED') })).code, 'ECONNREFUSED');
    assert.equal(classifyUpstreamError('not an error').status, 502);
  });
});
