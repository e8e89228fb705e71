import { expect } from 'chai';
import { KeyFileError } from '../../src/core/errors.js';
import {
  KEY_PREFIX, MAX_KEY_FILE_BYTES, MAX_KEY_LENGTH, decodeKeyFile, decodeText, digestOf, fingerprint, fingerprintOfDigest, generateKey, keyFromBytes,
  maskKey, parseKey,
} from '../../src/core/key.js';

const KEY = 'qwk_abcdefghijklmnopqrstuvwxyz0123456789';

/** Asserts that `fn` throws a KeyFileError with `code` (and never echoes the input). */
function expectCode(fn: () => unknown, code: string): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught, 'expected a KeyFileError').to.be.instanceOf(KeyFileError);
  expect((caught as KeyFileError).code).to.equal(code);
}

function utf16le(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}

function utf16be(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]);
}

describe('key', () => {
  describe('generateKey', () => {
    it('is the prefix plus 256 bits of base64url from the random source', () => {
      const key = generateKey((size) => Buffer.alloc(size, 0xab));
      expect(key.startsWith(KEY_PREFIX)).to.equal(true);
      expect(Buffer.from(key.slice(KEY_PREFIX.length), 'base64url')).to.deep.equal(Buffer.alloc(32, 0xab));
    });

    it('uses only [A-Za-z0-9_-] and differs each time by default', () => {
      const a = generateKey();
      const b = generateKey();
      expect(/^[A-Za-z0-9_-]{47}$/.test(a)).to.equal(true);
      expect(a === b).to.equal(false);
    });
  });

  describe('keyFromBytes: encodings', () => {
    const cases: Array<[string, Buffer]> = [
      ['plain UTF-8', Buffer.from(KEY)],
      ['UTF-8 with LF', Buffer.from(KEY + '\n')],
      ['UTF-8 with CRLF', Buffer.from(KEY + '\r\n')],
      ['UTF-8 with surrounding blanks', Buffer.from(`  \t${KEY} \r\n\r\n`)],
      ['UTF-8 BOM', Buffer.from('\ufeff' + KEY + '\n')],
      ['UTF-16 LE BOM (PowerShell 5 Out-File)', utf16le(KEY + '\r\n')],
      ['UTF-16 BE BOM', utf16be(KEY + '\r\n')],
    ];
    for (const [name, bytes] of cases) {
      it(`reads ${name}`, () => {
        expect(keyFromBytes(bytes) === KEY).to.equal(true);
      });
    }

    it('keeps keys in other formats working (any visible ASCII)', () => {
      const legacy = 'Abc!#$%&()*+,./:;<=>?@[]^`{|}~"\'-_0123456789';
      expect(keyFromBytes(Buffer.from(legacy + '\n')) === legacy).to.equal(true);
    });

    it('accepts exactly 1024 characters', () => {
      expect(keyFromBytes(Buffer.from('k'.repeat(MAX_KEY_LENGTH))).length).to.equal(MAX_KEY_LENGTH);
    });
  });

  describe('keyFromBytes: rejections', () => {
    const cases: Array<[string, Buffer, string]> = [
      ['an empty file', Buffer.alloc(0), 'KEY_EMPTY'],
      ['only blanks and newlines', Buffer.from(' \r\n\t\n'), 'KEY_EMPTY'],
      ['only a BOM', Buffer.from('\ufeff'), 'KEY_EMPTY'],
      ['an empty UTF-16 file', Buffer.from([0xff, 0xfe]), 'KEY_EMPTY'],
      ['an inner space', Buffer.from('abc def\n'), 'KEY_INVALID_CHARS'],
      ['an inner tab', Buffer.from('abc\tdef\n'), 'KEY_INVALID_CHARS'],
      ['an inner newline (two lines)', Buffer.from('abc\ndef\n'), 'KEY_INVALID_CHARS'],
      ['a NUL byte', Buffer.from('abc\0def'), 'KEY_INVALID_CHARS'],
      ['a DEL character', Buffer.from('abc\x7fdef'), 'KEY_INVALID_CHARS'],
      ['an escape character', Buffer.from('abc\x1bdef'), 'KEY_INVALID_CHARS'],
      ['non-ASCII text', Buffer.from('clé-secrète'), 'KEY_INVALID_CHARS'],
      ['a second BOM inside', Buffer.from('\ufeff\ufeffabc'), 'KEY_INVALID_CHARS'],
      ['a non-breaking space', Buffer.from('abc\u00a0'), 'KEY_INVALID_CHARS'],
      ['more than 1024 characters', Buffer.from('k'.repeat(MAX_KEY_LENGTH + 1)), 'KEY_TOO_LARGE'],
      ['more than 4096 bytes', Buffer.alloc(MAX_KEY_FILE_BYTES + 1, 0x20), 'KEY_TOO_LARGE'],
      ['invalid UTF-8', Buffer.from([0x61, 0xc3, 0x28]), 'KEY_BAD_ENCODING'],
      ['odd-length UTF-16 LE', Buffer.from([0xff, 0xfe, 0x61, 0x00, 0x62]), 'KEY_BAD_ENCODING'],
      // Regression: a UTF-16 BE file with an odd byte count threw a plain RangeError from Buffer.swap16.
      ['odd-length UTF-16 BE', Buffer.from([0xfe, 0xff, 0x00, 0x61, 0x00]), 'KEY_BAD_ENCODING'],
      ['UTF-16 with a lone surrogate', Buffer.from([0xff, 0xfe, 0x00, 0xd8, 0x61, 0x00]), 'KEY_BAD_ENCODING'],
      ['UTF-16 BE with a lone surrogate', Buffer.from([0xfe, 0xff, 0xd8, 0x00, 0x00, 0x61]), 'KEY_BAD_ENCODING'],
    ];
    for (const [name, bytes, code] of cases) {
      it(`rejects ${name} with ${code}`, () => expectCode(() => keyFromBytes(bytes), code));
    }

    it('never puts the rejected text into the message', () => {
      try {
        parseKey('secret value');
        expect.fail('should have thrown');
      } catch (err) {
        expect((err as Error).message).not.to.include('secret');
      }
    });
  });

  describe('decodeText and its messages', () => {
    const thrown = (fn: () => unknown): KeyFileError => {
      try {
        fn();
      } catch (err) {
        return err as KeyFileError;
      }
      throw new Error('expected a KeyFileError');
    };

    it('takes a BOM only when all of its bytes are there; anything else is judged as UTF-8', () => {
      for (const bytes of [[0x41, 0xfe], [0xff, 0x41, 0x41, 0x00], [0xfe, 0x41], [0x41, 0xff], [0x41, 0x41, 0xbf], [0xef, 0x41, 0xbf], [0xef, 0xbb, 0x41], [0x41, 0xbb, 0xbf]]) {
        const err = thrown(() => decodeText(Buffer.from(bytes)));
        expect([err.code, err.message], bytes.join(',')).to.deep.equal(['KEY_BAD_ENCODING', 'key file is not valid UTF-8']);
        expect(err.cause).to.be.instanceOf(Error);
      }
    });

    it('says a UTF-16 file has an odd number of bytes, little- or big-endian', () => {
      for (const bom of [[0xff, 0xfe], [0xfe, 0xff]]) {
        expect(thrown(() => decodeText(Buffer.from([...bom, 0x41, 0x00, 0x42]))).message).to.equal('key file is UTF-16 with an odd number of bytes');
      }
      expect(thrown(() => decodeText(Buffer.from([0xff, 0xfe, 0x00, 0xd8]))).message).to.equal('key file is not valid UTF-16LE');
    });

    it('says how large a key file or a key is, and that an empty one is empty', () => {
      expect(decodeKeyFile(Buffer.alloc(MAX_KEY_FILE_BYTES, 0x61))).to.have.length(MAX_KEY_FILE_BYTES);
      expect(thrown(() => decodeKeyFile(Buffer.alloc(MAX_KEY_FILE_BYTES + 1, 0x61))).message)
        .to.equal(`key file is ${MAX_KEY_FILE_BYTES + 1} bytes; at most ${MAX_KEY_FILE_BYTES} are accepted`);
      expect(thrown(() => parseKey('a'.repeat(1025))).message).to.equal('key is 1025 characters; at most 1024 are accepted');
      expect(thrown(() => parseKey(' \n')).message).to.equal('key file is empty');
    });

    it('names a key by the first 12 hex digits of its digest', () => {
      expect(digestOf('k')).to.match(/^[0-9a-f]{64}$/);
      expect(fingerprintOfDigest(digestOf('k'))).to.equal(fingerprint('k'));
      expect(fingerprint('k')).to.equal(`sha256:${digestOf('k').slice(0, 12)}`);
    });
  });

  describe('decodeKeyFile', () => {
    it('strips only the BOM, leaving the text as written', () => {
      expect(decodeKeyFile(utf16le(' a\r\n'))).to.equal(' a\r\n');
      expect(decodeKeyFile(Buffer.from('\ufeffa\n'))).to.equal('a\n');
    });
  });

  describe('fingerprint and maskKey', () => {
    it('fingerprints as sha256: plus 12 hex digits, stable and distinct', () => {
      expect(fingerprint(KEY)).to.match(/^sha256:[0-9a-f]{12}$/);
      expect(fingerprint(KEY)).to.equal(fingerprint(KEY));
      expect(fingerprint(KEY)).not.to.equal(fingerprint(KEY + 'x'));
    });

    it('masks to the first and last 6 characters', () => {
      expect(maskKey('abc123-the-MIDDLE-xyz789')).to.equal('abc123...xyz789');
      expect(maskKey(KEY)).to.equal(`${KEY.slice(0, 6)}...${KEY.slice(-6)}`);
    });

    // Regression: a 13-14 character legacy key showed 12 of its characters.
    it('keeps at least half of every key hidden', () => {
      expect(maskKey('legacy1234567')).to.equal('leg...567');
      expect(maskKey('abc123MIDDLExyz789')).to.equal('abc1...z789');
      for (let length = 1; length <= 64; length++) {
        const key = 'k'.repeat(length);
        const shown = maskKey(key).replace(/\*|\.\.\./g, '').length;
        expect(shown * 2, `length ${length}`).to.be.at.most(length);
      }
    });

    it('hides short keys entirely', () => {
      expect(maskKey('short12chars')).to.equal('************');
    });
  });
});
