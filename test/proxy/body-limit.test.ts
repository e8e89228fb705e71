import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BodyTooLargeError, createBodyLimiter, declaredLengthExceeds } from '../../src/proxy/body-limit.js';

/** Sends `chunks` through a limiter of `limit` bytes; what came out, and the error if it failed. */
async function through(limit: number, chunks: string[]): Promise<{ out: string; error?: unknown }> {
  let out = '';
  try {
    await pipeline(Readable.from(chunks.map((c) => Buffer.from(c))), createBodyLimiter(limit), async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) out += chunk.toString();
    });
    return { out };
  } catch (error) {
    return { out, error };
  }
}

describe('body limit', () => {
  it('passes a body up to the limit through unchanged, in any number of chunks', async () => {
    assert.deepEqual(await through(6, ['abc', 'def']), { out: 'abcdef' });
    assert.deepEqual(await through(0, []), { out: '' });
  });

  it('fails with a 413 error the moment the body passes the limit, passing on nothing past it', async () => {
    const { out, error } = await through(5, ['abc', 'def', 'ghi']);
    assert.ok('abc'.startsWith(out), out); // what got through before the error, if anything, is within the limit
    assert.ok(error instanceof BodyTooLargeError);
    assert.equal(error.status, 413);
    assert.equal(error.code, 'BODY_TOO_LARGE');
    assert.equal(error.name, 'BodyTooLargeError');
    assert.equal(error.limit, 5);
    assert.equal(error.message, 'request body exceeds 5 bytes');
  });

  it('counts across chunks, not per chunk', async () => {
    const { error } = await through(4, ['ab', 'cd', 'e']);
    assert.ok(error instanceof BodyTooLargeError);
  });

  it('flags a declared Content-Length over the limit, and nothing that is not a finite number', () => {
    assert.equal(declaredLengthExceeds('1025', 1024), true);
    assert.equal(declaredLengthExceeds('1024', 1024), false);
    assert.equal(declaredLengthExceeds(undefined, 1024), false);
    assert.equal(declaredLengthExceeds('abc', 1024), false);
    assert.equal(declaredLengthExceeds('Infinity', 1024), false);
  });
});
