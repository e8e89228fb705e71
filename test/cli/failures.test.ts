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

  it('describes bare system errors and anything else on one line', () => {
    expect(describeFailure(errno('ENOSPC', 'write', '/h'), '/k')).to.equal('cannot write /h: no space left on the device (ENOSPC)');
    expect(describeFailure(new Error('two\nlines'), '/k')).to.equal('unexpected error: two lines');
  });
});
