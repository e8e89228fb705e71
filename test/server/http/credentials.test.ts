import { expect } from 'chai';
import fc from 'fast-check';
import { readCredential } from '../../../src/server/http/credentials.js';

describe('readCredential', () => {
  it('takes X-API-Key as is', () => {
    const c = readCredential('abc', undefined);
    expect(c.ok && c.key === 'abc').to.equal(true);
  });

  it('prefers X-API-Key over Authorization', () => {
    const c = readCredential('abc', 'Bearer xyz');
    expect(c.ok && c.key === 'abc').to.equal(true);
  });

  it('reads Bearer in any case, with extra spaces around the token', () => {
    for (const header of ['Bearer tok', 'bearer tok', 'BEARER   tok  ']) {
      const c = readCredential(undefined, header);
      expect(c.ok && c.key === 'tok', header).to.equal(true);
    }
  });

  it('accepts RFC 6750\'s form: "Bearer", one or more spaces (1*SP), the token; blanks after it are the field\'s padding', () => {
    // RFC 6750 2.1: credentials = "Bearer" 1*SP b64token. HTTP strips a field's surrounding whitespace
    // (Node already does on the wire); a direct caller's trailing spaces are read the same way.
    for (const header of ['Bearer  tok', 'Bearer     tok', 'Bearer tok ', 'bEaReR  tok  ']) {
      const c = readCredential(undefined, header);
      expect(c.ok && c.key === 'tok', JSON.stringify(header)).to.equal(true);
    }
  });

  it('refuses what RFC 6750 does not allow between scheme and token: a tab, or nothing', () => {
    for (const header of ['Bearer\ttok', 'Bearer \ttok', 'Bearer\u00a0tok', 'Bearertok', 'Bearer tok\tmore']) {
      expect(readCredential(undefined, header), JSON.stringify(header)).to.deep.equal({ ok: false, problem: 'malformed' });
    }
  });

  it('passes a repeated X-API-Key on joined, so it can never equal a key', () => {
    const c = readCredential(['abc', 'abc'], undefined);
    expect(c.ok && c.key === 'abc, abc').to.equal(true);
  });

  it('reports a repeated Authorization header as malformed', () => {
    expect(readCredential(undefined, ['Bearer a', 'Bearer b'])).to.deep.equal({ ok: false, problem: 'malformed' });
    expect(readCredential(undefined, ['Bearer a', 'Bearer a'])).to.deep.equal({ ok: false, problem: 'malformed' });
  });

  it('reports no credential as missing', () => {
    expect(readCredential(undefined, undefined)).to.deep.equal({ ok: false, problem: 'missing' });
    expect(readCredential('', '')).to.deep.equal({ ok: false, problem: 'missing' });
  });

  it('reports other schemes, a missing token and inner spaces as malformed', () => {
    for (const header of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer ', 'Bearer a b', 'Bearer\ttok', 'Bearertok', 'Bearer tök']) {
      expect(readCredential(undefined, header), header).to.deep.equal({ ok: false, problem: 'malformed' });
    }
  });

  it('reads the scheme only at the start: a header that merely contains "Bearer tok" is malformed', () => {
    for (const header of ['XBearer tok', 'Basic bearer tok', 'Token Bearer tok']) {
      expect(readCredential(undefined, header), header).to.deep.equal({ ok: false, problem: 'malformed' });
    }
  });

  it('turns any header values into a candidate or a typed rejection, never a crash', () => {
    const header = fc.option(fc.oneof(fc.string({ unit: 'binary' }), fc.array(fc.string(), { maxLength: 3 })), { nil: undefined });
    fc.assert(fc.property(header, header, (apiKey, authorization) => {
      const c = readCredential(apiKey, authorization);
      if (c.ok) {
        expect(c.key.length).to.be.greaterThan(0);
        if (apiKey === undefined || apiKey === '' || (Array.isArray(apiKey) && apiKey.join(', ') === '')) {
          expect(/^[\x21-\x7e]+$/.test(c.key)).to.equal(true);
        }
      } else {
        expect(['missing', 'malformed']).to.include(c.problem);
      }
    }), { numRuns: 2000 });
  });

  it('extracts exactly the token of any well-formed Bearer header', () => {
    const token = fc.stringMatching(/^[\x21-\x7e]{1,64}$/);
    fc.assert(fc.property(token, fc.constantFrom('Bearer', 'bearer', 'BeArEr'), fc.integer({ min: 1, max: 3 }), (t, scheme, spaces) => {
      const c = readCredential(undefined, `${scheme}${' '.repeat(spaces)}${t}`);
      expect(c.ok && c.key === t).to.equal(true);
    }));
  });
});
