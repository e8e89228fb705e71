import { expect } from 'chai';
import { DESCRIPTOR_RESERVE, connectionCap, connectionsThatFit, openFileLimit } from '../../src/server/descriptor-budget.js';

const LIMITS = `Limit                     Soft Limit           Hard Limit           Units
Max cpu time              unlimited            unlimited            seconds
Max open files            256                  4096                 files
Max locked memory         8388608              8388608              bytes
`;

describe('descriptor budget', () => {
  it('reads the soft open-file limit from /proc/self/limits', () => {
    expect(openFileLimit(() => LIMITS)).to.equal(256);
  });

  it('knows no limit where the file is missing or says unlimited', () => {
    expect(openFileLimit(() => { throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' }); })).to.equal(undefined);
    expect(openFileLimit(() => LIMITS.replace('256                  4096', 'unlimited            unlimited'))).to.equal(undefined);
  });

  it('reads this process\'s own limit on Linux', function () {
    if (openFileLimit() === undefined) this.skip();
    expect(openFileLimit()).to.be.above(DESCRIPTOR_RESERVE);
  });

  it('keeps the reserve back and counts two descriptors per connection with an upstream', () => {
    expect(connectionsThatFit(256, 1)).to.equal(256 - DESCRIPTOR_RESERVE);
    expect(connectionsThatFit(256, 2)).to.equal((256 - DESCRIPTOR_RESERVE) / 2);
    expect(connectionsThatFit(10, 1)).to.equal(1);
  });

  it('lowers the requested cap only when the limit leaves less room', () => {
    expect(connectionCap(1024, 2, 256)).to.deep.equal({ max: 96, openFileLimit: 256 });
    expect(connectionCap(1024, 1, 1_048_576)).to.deep.equal({ max: 1024, openFileLimit: 1_048_576 });
    expect(connectionCap(1024, 1, undefined)).to.deep.equal({ max: 1024, openFileLimit: undefined });
  });
});
