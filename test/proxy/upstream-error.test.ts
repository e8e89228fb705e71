import assert from 'node:assert/strict';
import { BodyTooLargeError } from '../../src/proxy/body-limit.js';
import { classifyUpstreamError } from '../../src/proxy/upstream-error.js';

const coded = (code: unknown, cause?: unknown): Error => Object.assign(new Error('x', { cause }), { code });

describe('classifyUpstreamError', () => {
  it('answers a body over the limit with 413', () => {
    assert.deepEqual(classifyUpstreamError(new BodyTooLargeError(10)), { status: 413, detail: 'Request body too large', code: 'BODY_TOO_LARGE' });
  });

  it('answers every kind of timeout with 504', () => {
    for (const code of ['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT', 'ETIMEDOUT']) {
      assert.deepEqual(classifyUpstreamError(coded(code)), { status: 504, detail: 'Upstream timed out', code }, code);
    }
  });

  it('answers a client that broke off its body with 400', () => {
    for (const code of ['UND_ERR_REQ_CONTENT_LENGTH_MISMATCH', 'ERR_STREAM_PREMATURE_CLOSE']) {
      assert.deepEqual(classifyUpstreamError(coded(code)), { status: 400, detail: 'Request body incomplete', code }, code);
    }
  });

  it('answers anything else with 502, named by its code or UNKNOWN', () => {
    assert.deepEqual(classifyUpstreamError(coded('ECONNREFUSED')), { status: 502, detail: 'Upstream unavailable', code: 'ECONNREFUSED' });
    assert.deepEqual(classifyUpstreamError(new Error('no code')), { status: 502, detail: 'Upstream unavailable', code: 'UNKNOWN' });
    assert.deepEqual(classifyUpstreamError('not an error'), { status: 502, detail: 'Upstream unavailable', code: 'UNKNOWN' });
    assert.deepEqual(classifyUpstreamError(undefined), { status: 502, detail: 'Upstream unavailable', code: 'UNKNOWN' });
  });

  it('finds the first string code down the cause chain, skipping numeric ones', () => {
    assert.equal(classifyUpstreamError(coded(undefined, coded(23, coded('UND_ERR_CONNECT_TIMEOUT')))).status, 504);
    assert.equal(classifyUpstreamError(coded('ECONNRESET', coded('ETIMEDOUT'))).code, 'ECONNRESET');
  });

  it('looks five levels deep at most', () => {
    const chain = (depth: number): Error => {
      let error: Error = coded('ETIMEDOUT');
      for (let i = 1; i < depth; i++) error = new Error('wrapped', { cause: error });
      return error;
    };
    assert.equal(classifyUpstreamError(chain(5)).code, 'ETIMEDOUT');
    assert.equal(classifyUpstreamError(chain(6)).code, 'UNKNOWN');
  });

  it('stops at a cause that is not an error', () => {
    assert.equal(classifyUpstreamError(new Error('x', { cause: { code: 'ETIMEDOUT' } })).code, 'UNKNOWN');
  });
});
