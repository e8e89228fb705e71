import { expect } from 'chai';
import { parseRate } from '../../src/server/rate.js';

describe('parseRate', () => {
  it('reads N/DURATION', () => {
    expect(parseRate('300/1m')).to.deep.equal({ count: 300, periodMs: 60_000 });
    expect(parseRate(' 1/10s ')).to.deep.equal({ count: 1, periodMs: 10_000 });
    expect(parseRate('999999999/1d')).to.deep.equal({ count: 999_999_999, periodMs: 86_400_000 });
  });

  it('refuses a count of 0 or over nine digits, a period of 0, and anything else', () => {
    for (const bad of ['0/1m', '1/0', '1000000000/1m', '5', '/1m', '5/', 'x5/1m', '-1/1m', 'five/1m', '']) {
      expect(() => parseRate(bad), bad).to.throw(RangeError, `invalid rate "${bad}" (use e.g. 30/1m, or off)`);
    }
  });

  it('refuses anything after the period, even past a line break', () => {
    expect(() => parseRate('5/1m\nx')).to.throw(RangeError);
  });

  it('passes on why a period is not a duration', () => {
    expect(() => parseRate('5/10')).to.throw(RangeError, 'needs a unit');
    expect(() => parseRate('5/1m/1m')).to.throw(RangeError, 'invalid duration "1m/1m"');
  });
});
