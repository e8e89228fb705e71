import { expect } from 'chai';
import { KeyFileError } from '../../src/core/errors.js';
import {
  DEVELOPMENT_KEY, KEY_PREFIX, MAX_KEY_FILE_BYTES, MAX_KEY_LENGTH, decodeKeyFile, decodeText, digestOf, fingerprint, fingerprintOfDigest,
  generateKey, keyFromBytes, maskKey, parseKey,
} from '../../src/core/key.js';

const KEY = 'qwk_abcdefghijklmnopqrstuvwxyz0123456789';

/** What `fn` threw (undefined when it returned). */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

/** Asserts that `fn` throws a KeyFileError with `code`, and returns it. */
function expectCode(fn: () => unknown, code: string): KeyFileError {
  const caught = thrownBy(fn);
  expect(caught, 'expected a KeyFileError').to.be.instanceOf(KeyFileError);
  expect((caught as KeyFileError).code).to.equal(code);
  return caught as KeyFileError;
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

    it('accepts a file of exactly 4096 bytes (the key and the blanks around it)', () => {
      const bytes = Buffer.from(KEY + ' '.repeat(4096 - KEY.length));
      expect(bytes.length).to.equal(4096);
      expect(keyFromBytes(bytes) === KEY).to.equal(true);
    });

    it('takes the generated key\'s prefix as qwk_ and the development key as the one the README names', () => {
      expect(KEY_PREFIX).to.equal('qwk_');
      expect(DEVELOPMENT_KEY).to.equal('qwk_development_only_insecure_key_do_not_use');
    });
  });

  // Byte-order marks count only as a whole and only at the start: bytes that merely resemble one are
  // decoded as UTF-8, where they are invalid.
  describe('keyFromBytes: byte-order marks only as a whole', () => {
    const cases: Array<[string, number[]]> = [
      ['0xFF without 0xFE', [0xff, 0x41, 0x61, 0x00, 0x62, 0x00]],
      ['0xFE after another byte', [0x41, 0xfe, 0x61, 0x00, 0x62, 0x00]],
      ['0xFE without 0xFF', [0xfe, 0x41, 0x00, 0x61, 0x00, 0x62]],
      ['0xFF after another byte', [0x41, 0xff, 0x00, 0x61, 0x00, 0x62]],
      ['0xBB 0xBF after another byte', [0x41, 0xbb, 0xbf, 0x61, 0x62, 0x63]],
      ['0xEF, another byte, 0xBF', [0xef, 0x41, 0xbf, 0x61, 0x62, 0x63]],
      ['0xEF 0xBB and another byte', [0xef, 0xbb, 0x41, 0x61, 0x62, 0x63]],
      ['0xBF after two other bytes', [0x41, 0x42, 0xbf, 0x61, 0x62, 0x63]],
    ];
    for (const [name, bytes] of cases) {
      it(`reads ${name} as (invalid) UTF-8`, () => {
        expect(expectCode(() => keyFromBytes(Buffer.from(bytes)), 'KEY_BAD_ENCODING').message).to.equal('key file is not valid UTF-8');
      });
    }
  });

  describe('keyFromBytes: what each rejection says', () => {
    const cases: Array<[string, Buffer, string]> = [
      ['an empty file', Buffer.alloc(0), 'key file is empty'],
      ['a file of 4097 bytes', Buffer.alloc(4097, 0x20), 'key file is 4097 bytes; at most 4096 are accepted'],
      ['a key of 1025 characters', Buffer.from('k'.repeat(1025)), 'key is 1025 characters; at most 1024 are accepted'],
      ['a key with a space', Buffer.from('a b'), 'key contains whitespace, control or non-ASCII characters'],
      ['odd-length UTF-16 LE', Buffer.from([0xff, 0xfe, 0x61, 0x00, 0x62]), 'key file is UTF-16 with an odd number of bytes'],
      ['odd-length UTF-16 BE', Buffer.from([0xfe, 0xff, 0x00, 0x61, 0x00]), 'key file is UTF-16 with an odd number of bytes'],
      ['invalid UTF-8', Buffer.from([0x61, 0xc3, 0x28]), 'key file is not valid UTF-8'],
      ['UTF-16 LE with a lone surrogate', Buffer.from([0xff, 0xfe, 0x00, 0xd8, 0x61, 0x00]), 'key file is not valid UTF-16LE'],
      ['UTF-16 BE with a lone surrogate', Buffer.from([0xfe, 0xff, 0xd8, 0x00, 0x00, 0x61]), 'key file is not valid UTF-16BE'],
    ];
    for (const [name, bytes, message] of cases) {
      it(`says "${message}" for ${name}`, () => {
        expect((thrownBy(() => keyFromBytes(bytes)) as Error).message).to.equal(message);
      });
    }

    it('keeps the decoder\'s error as the cause of an encoding error', () => {
      const err = expectCode(() => keyFromBytes(Buffer.from([0x61, 0xc3, 0x28])), 'KEY_BAD_ENCODING');
      expect(err.cause).to.be.instanceOf(TypeError);
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
      const err = expectCode(() => parseKey('secret value'), 'KEY_INVALID_CHARS');
      expect(err.message).not.to.include('secret');
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
    it('fingerprints as sha256: plus the first 12 hex digits of the key\'s SHA-256', () => {
      // Literal digests (sha256sum of the key's bytes), not computed here.
      expect(fingerprint('abc')).to.equal('sha256:ba7816bf8f01');
      expect(fingerprint(KEY)).to.equal('sha256:adfafd6ea51c');
      expect(fingerprint(KEY + 'x')).to.equal('sha256:ba2be240faa3');
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
