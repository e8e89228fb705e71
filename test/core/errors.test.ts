import { expect } from 'chai';
import { KeyFileError, isErrnoCode } from '../../src/core/errors.js';

describe('errors', () => {
  const enoent = Object.assign(new Error('gone'), { code: 'ENOENT' });

  it('tells a system error by its code, and any system error when no code is given', () => {
    expect(isErrnoCode(enoent, 'ENOENT', 'ENOTDIR')).to.equal(true);
    expect(isErrnoCode(enoent, 'EACCES')).to.equal(false);
    expect(isErrnoCode(enoent)).to.equal(true);
  });

  it('takes nothing without a string code for a system error', () => {
    for (const err of [new Error('plain'), Object.assign(new Error('n'), { code: 5 }), { code: 'ENOENT' }, 'ENOENT', undefined]) {
      expect(isErrnoCode(err), String(err)).to.equal(false);
    }
  });

  it('carries a stable code and its cause in a KeyFileError', () => {
    const err = new KeyFileError('KEY_MISSING', 'no key', { cause: enoent });
    expect([err.name, err.code, err.message, err.cause]).to.deep.equal(['KeyFileError', 'KEY_MISSING', 'no key', enoent]);
  });

  it('a KeyFileError carries its code, its name and its cause', () => {
    const cause = new Error('inner');
    const err = new KeyFileError('KEY_EMPTY', 'key file is empty', { cause });
    expect([err.code, err.name, err.message, err.cause]).to.deep.equal(['KEY_EMPTY', 'KeyFileError', 'key file is empty', cause]);
    expect(String(err)).to.equal('KeyFileError: key file is empty');
  });

  it('isErrnoCode matches a system error by one of the given codes', () => {
    const err = Object.assign(new Error('x'), { code: 'ENOENT' });
    expect(isErrnoCode(err, 'ENOENT')).to.equal(true);
    expect(isErrnoCode(err, 'EACCES', 'ENOENT')).to.equal(true);
    expect(isErrnoCode(err, 'EACCES')).to.equal(false);
  });

  // Regression: with no code given it matched nothing, so the reloader and the history reader named every
  // system error KEY_UNREADABLE / UNKNOWN instead of by its code.
  it('isErrnoCode with no code given matches any system error', () => {
    expect(isErrnoCode(Object.assign(new Error('x'), { code: 'EACCES' }))).to.equal(true);
  });

  it('isErrnoCode refuses anything that is not an Error with a string code', () => {
    expect(isErrnoCode({ code: 'ENOENT' }, 'ENOENT')).to.equal(false);
    expect(isErrnoCode(new Error('x'), 'ENOENT')).to.equal(false);
    expect(isErrnoCode(Object.assign(new Error('x'), { code: 2 }))).to.equal(false);
    expect(isErrnoCode(undefined)).to.equal(false);
  });
});
