import { expect } from 'chai';
import { UsageError } from '../../src/cli/usage-error.js';

describe('UsageError', () => {
  it('is an Error named UsageError, with its message', () => {
    const err = new UsageError('unknown command "frobnicate"');
    expect(err).to.be.instanceOf(Error);
    expect(err.name).to.equal('UsageError');
    expect(String(err)).to.equal('UsageError: unknown command "frobnicate"');
  });
});
