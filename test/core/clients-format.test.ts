import { expect } from 'chai';
import fc from 'fast-check';
import { CLIENTS_FILE_VERSION, MAX_CLIENTS_FILE_BYTES, formatClients, parseClients } from '../../src/core/clients-format.js';
import type { ClientRecord, ParsedLines } from '../../src/core/clients-format.js';
import { KeyFileError } from '../../src/core/errors.js';

const D1 = 'a'.repeat(64);
const D2 = 'b'.repeat(64);
const D3 = 'c'.repeat(64);
const T = new Date('2026-11-29T10:00:00.000Z');
const later = new Date('2026-12-29T10:00:00.000Z');

const alice: ClientRecord = { name: 'alice', sha256: D1, created: T };
const bob: ClientRecord = { name: 'bob', sha256: D2, created: T, expires: later, previous: { sha256: D3, rotated: T, until: later } };

function parse(document: unknown): ClientRecord[] {
  return parseClients(Buffer.from(JSON.stringify(document)));
}

function invalid(document: unknown): string {
  try {
    parse(document);
  } catch (err) {
    expect(err).to.be.instanceOf(KeyFileError);
    expect((err as KeyFileError).code).to.equal('CLIENTS_INVALID');
    return (err as Error).message;
  }
  throw new Error('parsed a file that should be refused');
}

describe('clients file format', () => {
  it('formats one client per line under a version field and reads it back', () => {
    const bytes = formatClients([alice, bob]);
    const text = bytes.toString('utf8');
    expect(text.split('\n')).to.have.length(5);
    expect(text.startsWith(`{"version":${CLIENTS_FILE_VERSION},"clients":[\n{"name":"alice"`)).to.equal(true);
    expect(text.endsWith(']}\n')).to.equal(true);
    expect(parseClients(bytes)).to.deep.equal([alice, bob]);
  });

  it('formats no clients as an empty list, and reads it as none', () => {
    expect(formatClients([]).toString()).to.equal('{"version":1,"clients":[]}\n');
    expect(parseClients(formatClients([]))).to.deep.equal([]);
  });

  it('reads a file written by other tools: a BOM, CRLF, UTF-16, null for absent fields, unknown fields ignored', () => {
    const document = { version: 1, extra: true, clients: [{ name: 'alice', sha256: D1, created: '2026-11-29T10:00:00Z', expires: null, previous: null, note: 'x' }] };
    const text = JSON.stringify(document, null, 2).replace(/\n/g, '\r\n');
    expect(parseClients(Buffer.from('\ufeff' + text))).to.deep.equal([alice]);
    expect(parseClients(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]))).to.deep.equal([alice]);
  });

  it('refuses another version, naming the one it reads', () => {
    expect(invalid({ version: 2, clients: [] })).to.match(/version 2 is not 1/);
    expect(invalid({ clients: [] })).to.match(/version undefined/);
  });

  it('refuses what is not the documented shape', () => {
    expect(invalid([])).to.match(/not a JSON object/);
    expect(invalid(null)).to.match(/not a JSON object/);
    expect(invalid({ version: 1 })).to.match(/"clients" is not a list/);
    expect(invalid({ version: 1, clients: [7] })).to.match(/client 1 is not an object/);
    expect(invalid({ version: 1, clients: [{ sha256: D1, created: T }] })).to.match(/client 1 has no name/);
    expect(invalid({ version: 1, clients: [{ name: 'Alice', sha256: D1, created: T }] })).to.match(/client 1: the name is not a client name/);
    expect(invalid({ version: 1, clients: [{ name: 'default', sha256: D1, created: T }] })).to.match(/reserved/);
    expect(invalid({ version: 1, clients: [{ name: 'a', sha256: D1.toUpperCase(), created: T }] })).to.match(/a: sha256 is not 64/);
    expect(invalid({ version: 1, clients: [{ name: 'a', sha256: D1 + '0', created: T }] })).to.match(/sha256/);
    expect(invalid({ version: 1, clients: [{ name: 'a', sha256: D1 }] })).to.match(/a: created is not an ISO-8601/);
    expect(invalid({ version: 1, clients: [{ name: 'a', sha256: D1, created: '2026-11-29' }] })).to.match(/created/);
    expect(invalid({ version: 1, clients: [{ name: 'a', sha256: D1, created: '2026-13-45T10:00:00Z' }] })).to.match(/created/);
    expect(invalid({ version: 1, clients: [{ name: 'a', sha256: D1, created: T, expires: 5 }] })).to.match(/a: expires/);
    expect(invalid({ version: 1, clients: [{ name: 'a', sha256: D1, created: T, previous: 'x' }] })).to.match(/a: previous is not an object/);
    expect(invalid({ version: 1, clients: [{ name: 'a', sha256: D1, created: T, previous: { sha256: D2 } }] })).to.match(/previous\.rotated/);
    expect(invalid({ version: 1, clients: [{ name: 'a', sha256: D1, created: T, previous: { sha256: D2, rotated: T, until: 'soon' } }] }))
      .to.match(/previous\.until/);
  });

  it('refuses a name twice, and a digest twice (current or previous)', () => {
    expect(invalid({ version: 1, clients: [{ name: 'a', sha256: D1, created: T }, { name: 'a', sha256: D2, created: T }] })).to.match(/a appears twice/);
    expect(invalid({ version: 1, clients: [{ name: 'a', sha256: D1, created: T }, { name: 'b', sha256: D1, created: T }] })).to.match(/b shares a key digest/);
    expect(invalid({ version: 1, clients: [{ name: 'a', sha256: D1, created: T, previous: { sha256: D1, rotated: T } }] })).to.match(/shares/);
  });

  it('refuses text that is not JSON without quoting it (a key pasted in stays out of messages)', () => {
    const key = 'qwk_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0uvw';
    for (const text of [key, `{"version":1,"clients":[${key}]}`, '', '{"version":1,']) {
      let message = '';
      try {
        parseClients(Buffer.from(text));
      } catch (err) {
        expect((err as KeyFileError).code).to.equal('CLIENTS_INVALID');
        message = (err as Error).message;
      }
      expect(message, JSON.stringify(text)).to.match(/^clients file is unusable: not JSON/);
      expect(message).to.not.include(key.slice(4, 16));
    }
    expect(() => parseClients(Buffer.from([0xff, 0xfe, 0x41]))).to.throw(/not valid UTF-8 or UTF-16/);
  });

  it('refuses a file over the limit as CLIENTS_TOO_LARGE, saying how large; one at the limit is only judged', () => {
    expect(() => parseClients(Buffer.alloc(MAX_CLIENTS_FILE_BYTES + 1, 0x20))).to.throw(KeyFileError, `clients file is ${MAX_CLIENTS_FILE_BYTES + 1} bytes; at most ${MAX_CLIENTS_FILE_BYTES} are read`)
      .with.property('code', 'CLIENTS_TOO_LARGE');
    expect(() => parseClients(Buffer.alloc(MAX_CLIENTS_FILE_BYTES, 0x20))).to.throw(KeyFileError).with.property('code', 'CLIENTS_INVALID');
  });

  it('refuses values of the wrong type even when their text would pass (a list holding a digest or a time)', () => {
    expect(invalid({ version: 1, clients: [{ name: 'a', sha256: [D1], created: T }] })).to.match(/a: sha256/);
    expect(invalid({ version: 1, clients: [{ name: 'a', sha256: D1, created: [T.toISOString()] }] })).to.match(/a: created/);
    expect(invalid({ version: 1, clients: [{ name: 'a', sha256: D1, created: '+002026-11-29T10:00:00Z' }] })).to.match(/a: created/);
  });

  it('reads a previous key without an end (the server\'s grace), absent or null', () => {
    for (const until of [undefined, null]) {
      const [record] = parse({ version: 1, clients: [{ name: 'a', sha256: D1, created: T, previous: { sha256: D2, rotated: T, until } }] });
      expect(record!.previous).to.deep.equal({ sha256: D2, rotated: T });
    }
  });

  it('reads back any records it formats (property)', () => {
    const digest = fc.stringMatching(/^[0-9a-f]{64}$/);
    const time = fc.integer({ min: 0, max: 4102444800000 }).map((ms) => new Date(ms));
    const record = fc.record({
      name: fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,62}$/).filter((n) => n !== 'default' && n !== 'other'),
      sha256: digest, created: time,
      expires: fc.option(time, { nil: undefined }),
      previous: fc.option(fc.record({ sha256: digest, rotated: time, until: fc.option(time, { nil: undefined }) }), { nil: undefined }),
    });
    const unique = fc.uniqueArray(record, { selector: (r) => r.name, maxLength: 8 })
      .filter((list) => new Set(list.flatMap((r) => [r.sha256, r.previous?.sha256].filter(Boolean))).size === list.flatMap((r) => [r.sha256, r.previous?.sha256].filter(Boolean)).length);
    fc.assert(fc.property(unique, (list) => {
      const clean = list.map((r) => JSON.parse(JSON.stringify(r)) as unknown);
      const read = parseClients(formatClients(list)).map((r) => JSON.parse(JSON.stringify(r)) as unknown);
      expect(read).to.deep.equal(clean);
    }), { numRuns: 300 });
  });


  describe('reading again with the lines seen before', () => {
    it('reuses the record of every unchanged line and parses only the changed one', () => {
      const seen: ParsedLines = {};
      const first = parseClients(formatClients([alice, bob]), seen);
      const carol: ClientRecord = { name: 'carol', sha256: 'd'.repeat(64), created: T };
      const second = parseClients(formatClients([alice, carol]), seen);
      expect(second[0]).to.equal(first[0]);
      expect(second[1]).to.deep.equal(carol);
      expect([...seen.lines!.values()]).to.deep.equal([alice, carol]);
    });

    it('judges other layouts as the whole-document parse does', () => {
      const seen: ParsedLines = {};
      const pretty = Buffer.from(JSON.stringify({ version: 1, clients: [{ name: 'alice', sha256: D1, created: T.toISOString() }] }, null, 2));
      expect(parseClients(pretty, seen)).to.deep.equal([alice]);
      expect(seen.lines).to.equal(undefined);
      const bad = Buffer.from(formatClients([alice]).toString().replace('"alice"', '"alice",'));
      expect(() => parseClients(bad, seen)).to.throw(KeyFileError, /not JSON/);
    });

    it('refuses the line-by-line layout under another version, or with anything after it', () => {
      const seen: ParsedLines = {};
      const text = formatClients([alice]).toString();
      expect(() => parseClients(Buffer.from(text.replace('"version":1', '"version":2')), seen)).to.throw(KeyFileError, /version 2 is not 1/);
      expect(() => parseClients(Buffer.from(`${text}x`), seen)).to.throw(KeyFileError, /not JSON/);
      expect(() => parseClients(Buffer.from(text.replace('\n]}', '\n]')), seen)).to.throw(KeyFileError, /not JSON/);
    });

    it('names a bad entry by its place, as the whole-document parse does', () => {
      const seen: ParsedLines = {};
      const text = formatClients([alice, bob]).toString().replace(`"created":"${T.toISOString()}","expires"`, '"created":"soon","expires"');
      expect(() => parseClients(Buffer.from(text), seen)).to.throw(KeyFileError, /^clients file is unusable: bob: created is not an ISO-8601 UTC time$/);
      const unnamed = formatClients([alice, bob]).toString().replace('"name":"bob",', '');
      expect(() => parseClients(Buffer.from(unnamed), seen)).to.throw(KeyFileError, /client 2 has no name/);
    });

    it('still refuses duplicates and bad entries made of reused lines', () => {
      const seen: ParsedLines = {};
      parseClients(formatClients([alice, bob]), seen);
      expect(() => parseClients(formatClients([alice, alice]), seen)).to.throw(KeyFileError, /alice appears twice/);
      const wrong = Buffer.from(formatClients([alice, bob]).toString().replace(`"sha256":"${D2}"`, '"sha256":"x"'));
      expect(() => parseClients(wrong, seen)).to.throw(KeyFileError, /bob: sha256/);
    });

    it('gives the same records or the same refusal as a parse without them (property)', () => {
      const lines = fc.array(fc.constantFrom(
        JSON.stringify({ name: 'a', sha256: D1, created: T.toISOString() }),
        JSON.stringify({ name: 'b', sha256: D2, created: T.toISOString(), expires: later.toISOString() }),
        JSON.stringify({ name: 'c', sha256: D3, created: 'x' }),
        '{"name":"d"', '7', '{}', ' {"name":"e","sha256":"' + 'e'.repeat(64) + '","created":"' + T.toISOString() + '"} ',
      ), { maxLength: 5 });
      const seen: ParsedLines = {};
      fc.assert(fc.property(lines, fc.constantFrom('', '\n', '  \n'), (list, end) => {
        const bytes = Buffer.from(`{"version":1,"clients":[\n${list.join(',\n')}\n]}${end}`);
        const verdict = (parse: () => ClientRecord[]) => {
          try {
            return JSON.stringify(parse());
          } catch (err) {
            return `refused: ${(err as Error).message}`;
          }
        };
        expect(verdict(() => parseClients(bytes, seen))).to.equal(verdict(() => parseClients(bytes)));
      }), { numRuns: 500 });
    });
  });
});
