import { expect } from 'chai';
import fc from 'fast-check';
import { KeyFileError } from '../../src/core/errors.js';
import { decodeKeyFile, keyFromBytes } from '../../src/core/key.js';
import { formatEntry, parseHistory } from '../../src/core/history.js';

const KEY_SHAPE = /^[\x21-\x7e]{1,1024}$/;

/** Bytes biased towards what key files hold: BOMs, ASCII, blanks, CR/LF and UTF-16 patterns. */
const keyFileBytes = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc.uint8Array({ minLength: 4000, maxLength: 4200 }),
  fc.tuple(
    fc.constantFrom([], [0xef, 0xbb, 0xbf], [0xff, 0xfe], [0xfe, 0xff]),
    fc.array(fc.constantFrom(0x00, 0x09, 0x0a, 0x0d, 0x20, 0x41, 0x7a, 0x7e, 0x7f, 0xd8, 0xdc, 0xc3, 0xa9), { maxLength: 40 }),
  ).map(([bom, body]) => Uint8Array.from([...bom, ...body])),
  fc.string({ unit: 'binary', maxLength: 40 }).map((s) => new TextEncoder().encode(s)),
  fc.string({ maxLength: 40 }).map((s) => Uint8Array.from([0xff, 0xfe, ...Buffer.from(s, 'utf16le')])),
);

describe('properties', () => {
  it('keyFromBytes yields exactly the trimmed decoded text as a visible-ASCII key, or a KeyFileError', () => {
    fc.assert(fc.property(keyFileBytes, (array) => {
      const bytes = Buffer.from(array);
      let key: string;
      try {
        key = keyFromBytes(bytes);
      } catch (err) {
        return err instanceof KeyFileError;
      }
      return KEY_SHAPE.test(key) && key === decodeKeyFile(bytes).replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, '');
    }), { numRuns: 3000 });
  });

  it('keyFromBytes reads back any valid key in any supported encoding', () => {
    const key = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 1024 });
    const encode = fc.constantFrom(
      (t: string) => Buffer.from(t),
      (t: string) => Buffer.from('\ufeff' + t),
      (t: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(t, 'utf16le')]),
      (t: string) => Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(t, 'utf16le').swap16()]),
    );
    fc.assert(fc.property(key, encode, fc.constantFrom('', '\n', '\r\n', ' \r\n\n'), (k, enc, tail) => {
      return keyFromBytes(enc(k + tail)) === k;
    }), { numRuns: 500 });
  });

  it('parseHistory never throws on any text and returns only entries with a real time and a key', () => {
    const historyish = fc.array(fc.oneof(
      fc.string({ unit: 'binary', maxLength: 60 }),
      fc.tuple(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), fc.string({ maxLength: 20 }))
        .map(([y, m, d, rest]) => `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')} 12:00:00 | ${rest} | k`),
    ), { maxLength: 12 }).map((lines) => lines.join('\n'));
    fc.assert(fc.property(historyish, (text) => {
      const { entries, malformed } = parseHistory(text);
      return malformed >= 0 && entries.every((e) => !Number.isNaN(e.time.getTime()) && /^\S+$/.test(e.key) && e.action.length > 0);
    }), { numRuns: 2000 });
  });

  it('parseHistory reads back any well-formed lines among garbage', () => {
    const action = fc.constantFrom('Generated', 'Rotated (replaced)', 'Rotated (new)', 'Revoked', 'Grace until 2030-01-01T00:00:00.000Z');
    const keyArb = fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 60 });
    const stamp = fc.date({ min: new Date(2000, 0, 1), max: new Date(2099, 0, 1), noInvalidDate: true })
      .map((d) => new Date(Math.floor(d.getTime() / 1000) * 1000));
    const line = fc.record({ time: stamp, action, key: keyArb });
    const garbage = fc.string({ maxLength: 30 }).filter((s) => !s.includes('\n') && !/^\d{4}-/.test(s) && s.trim() !== '');
    fc.assert(fc.property(fc.array(fc.oneof(line, garbage), { maxLength: 20 }), (items) => {
      const text = items.map((i) => (typeof i === 'string' ? i : formatEntry(i))).join('\n');
      const good = items.filter((i) => typeof i !== 'string');
      const { entries, malformed } = parseHistory(text);
      expect(malformed).to.equal(items.length - good.length);
      return entries.length === good.length && entries.every((e, n) => formatEntry(e) === formatEntry(good[n]!));
    }), { numRuns: 500 });
  });
});
