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
});
