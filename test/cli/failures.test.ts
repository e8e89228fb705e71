import { expect } from 'chai';
import { describeFailure } from '../../src/cli/failures.js';
import { KeyFileError } from '../../src/core/errors.js';

const errno = (code: string, syscall: string, path: string) =>
  Object.assign(new Error(`${code}: failed, ${syscall} '${path}'`), { code, syscall, path });

describe('cli-errors', () => {
  it('names the key file and the next step for a missing key', () => {
    expect(describeFailure(new KeyFileError('KEY_MISSING', 'key file /k does not exist'), '/k'))
      .to.equal('no key file at /k; run "manage-key generate" to create one');
  });

  it('keeps a message that already says what to do', () => {
    const err = new KeyFileError('KEY_MISSING', 'no key to rotate in /k; run "manage-key generate" first');
    expect(describeFailure(err, '/k')).to.equal(err.message);
  });

  it('explains an unusable key file and how to fix it', () => {
    const text = describeFailure(new KeyFileError('KEY_BAD_ENCODING', 'key file is not valid UTF-8'), '/k');
    expect(text).to.include('/k does not hold a usable key: key file is not valid UTF-8');
    expect(text).to.include('--force');
  });

  it('names the system error behind a lock or write failure in words', () => {
    const lock = new KeyFileError('LOCK_FAILED', 'cannot lock /k: EACCES ...', { cause: errno('EACCES', 'mkdir', '/k.lock') });
    expect(describeFailure(lock, '/k')).to.equal('cannot lock /k: cannot create /k.lock: permission denied (EACCES)');
    const write = new KeyFileError('KEY_WRITE_FAILED', 'x', { cause: errno('EROFS', 'open', '/k.123') });
    expect(describeFailure(write, '/k')).to.equal('cannot write the key file /k: cannot open /k.123: read-only file system (EROFS); nothing was changed in it');
  });

  it('explains each kind of unusable key file the same way', () => {
    for (const code of ['KEY_EMPTY', 'KEY_TOO_LARGE', 'KEY_INVALID_CHARS', 'KEY_BAD_ENCODING'] as const) {
      expect(describeFailure(new KeyFileError(code, 'what is wrong'), '/k'), code)
        .to.equal('the key file /k does not hold a usable key: what is wrong (fix it; "manage-key rotate" replaces the history\'s current key, '
          + 'which running servers keep; "manage-key generate --force" starts afresh with no window)');
    }
  });

  it('names an unusable clients file in full, and the way out: fix it, or remove it to end every named key', () => {
    const advice = '; fix it by hand, or remove it to end every named key (running servers keep their last good set of named keys meanwhile)';
    expect(describeFailure(new KeyFileError('CLIENTS_INVALID', 'clients file is unusable: not JSON'), '/k', '/c/.api_clients'))
      .to.equal(`the clients file /c/.api_clients is unusable: not JSON${advice}`);
    expect(describeFailure(new KeyFileError('CLIENTS_TOO_LARGE', 'clients file is 9 bytes; at most 8 are read'), '/k', '/c'))
      .to.equal(`the clients file /c is 9 bytes; at most 8 are read${advice}`);
    expect(describeFailure(new KeyFileError('CLIENTS_INVALID', 'clients file is unusable: not JSON'), '/k'), 'no path known')
      .to.equal(`the clients file is unusable: not JSON${advice}`);
  });

  it('adds no ways out to a refusal of rotate that already names them', () => {
    const err = new KeyFileError('KEY_EMPTY', 'key file is empty, and its history names no current key, so there is no key to rotate '
      + '(fix the file, or start afresh with "manage-key generate --force", which gives no window)');
    expect(describeFailure(err, '/k')).to.equal(`the key file /k does not hold a usable key: ${err.message}`);
  });

  it('passes refusals that already name the path and the reason through as they are', () => {
    for (const code of ['KEY_EXISTS', 'KEY_NOT_REGULAR', 'KEY_READ_TIMEOUT', 'KEY_UNTRUSTED'] as const) {
      expect(describeFailure(new KeyFileError(code, `refusal ${code}`), '/k'), code).to.equal(`refusal ${code}`);
    }
  });

  it('names the system error behind an unreadable key file, or only the file when there is none', () => {
    const unreadable = new KeyFileError('KEY_UNREADABLE', 'x', { cause: errno('EACCES', 'open', '/k') });
    expect(describeFailure(unreadable, '/k')).to.equal('cannot read the key file /k: cannot open /k: permission denied (EACCES)');
    expect(describeFailure(new KeyFileError('KEY_UNREADABLE', 'x'), '/k')).to.equal('cannot read the key file /k');
    expect(describeFailure(new KeyFileError('KEY_WRITE_FAILED', 'x'), '/k')).to.equal('cannot write the key file /k; nothing was changed in it');
  });

  it('finds the system error within the first five errors of the cause chain, and only known ones', () => {
    const deep = (depth: number, code: string) => {
      let err: Error = errno(code, 'rename', '/k.tmp');
      for (let i = 0; i < depth; i++) err = new Error(`wrapper ${i}`, { cause: err });
      return new KeyFileError('KEY_WRITE_FAILED', 'x', { cause: err });
    };
    expect(describeFailure(deep(3, 'EXDEV'), '/k')).to.equal(`cannot write the key file /k: cannot replace /k.tmp: ${errno('EXDEV', 'rename', '/k.tmp').message} (EXDEV); nothing was changed in it`);
    for (const code of ['EBUSY', 'EIO', 'EPERM']) expect(describeFailure(deep(0, code), '/k'), code).to.include(`(${code})`);
    // The key-file error and four causes below it are looked at; a fifth cause is not.
    expect(describeFailure(deep(3, 'EBUSY'), '/k'), 'the fifth error').to.include('(EBUSY)');
    expect(describeFailure(deep(4, 'EBUSY'), '/k'), 'the sixth error').to.equal('cannot write the key file /k; nothing was changed in it');
    expect(describeFailure(deep(0, 'EWHATEVER'), '/k'), 'unknown code').to.equal('cannot write the key file /k; nothing was changed in it');
  });

  it('keeps the lock library\'s own words for a lock another run holds', () => {
    const held = new KeyFileError('LOCK_FAILED', 'cannot lock /k: another run still holds /k.lock after 15 s', { cause: errno('ELOCKED', 'lock', '/k.lock') });
    expect(describeFailure(held, '/k')).to.equal('cannot lock /k: another run still holds /k.lock after 15 s');
    expect(describeFailure(new KeyFileError('LOCK_FAILED', 'lost the lock on /k: gone'), '/k')).to.equal('lost the lock on /k: gone');
  });

  it('names a system error without a path or call by its words and code alone', () => {
    expect(describeFailure(Object.assign(new Error('x'), { code: 'EACCES' }), '/k')).to.equal('permission denied (EACCES)');
    expect(describeFailure(Object.assign(new Error('x'), { code: 'EACCES', syscall: 'chmod', path: '/k' }), '/k')).to.equal('chmod /k: permission denied (EACCES)');
  });

  it('puts anything thrown, even a non-error, on one line', () => {
    expect(describeFailure('plain\r\n  text', '/k')).to.equal('unexpected error: plain text');
    expect(describeFailure(undefined, '/k')).to.equal('unexpected error: undefined');
    expect(describeFailure(new Error('a\n\n\nb'), '/k')).to.equal('unexpected error: a b');
  });

  it('describes bare system errors and anything else on one line', () => {
    expect(describeFailure(errno('ENOSPC', 'write', '/h'), '/k')).to.equal('cannot write /h: no space left on the device (ENOSPC)');
    expect(describeFailure(new Error('two\nlines'), '/k')).to.equal('unexpected error: two lines');
  });
});
