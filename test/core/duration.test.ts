import { expect } from 'chai';
import { formatDuration, parseDuration } from '../../src/core/duration.js';

describe('duration', () => {
  const valid: Array<[string, number]> = [
    ['0', 0], ['0s', 0], ['500ms', 500], ['30s', 30_000], ['90s', 90_000], ['10m', 600_000],
    ['24h', 86_400_000], ['90d', 7_776_000_000], ['1.5h', 5_400_000], [' 10m ', 600_000],
  ];
  for (const [text, ms] of valid) {
    it(`parses "${text}" as ${ms} ms`, () => expect(parseDuration(text)).to.equal(ms));
  }

  const invalid = ['', '10', '-5m', '5 m', '10x', 'm', '1e3s', '.5s', 'ten minutes', '99999999999999999999d'];
  for (const text of invalid) {
    it(`rejects "${text}" with a RangeError`, () => expect(() => parseDuration(text)).to.throw(RangeError));
  }

  it('formats in the largest whole unit, readable back', () => {
    for (const ms of [0, 1, 999, 1000, 90_000, 600_000, 5_400_000, 86_400_000, 7_776_000_000]) {
      expect(parseDuration(formatDuration(ms))).to.equal(ms);
    }
    expect(formatDuration(600_000)).to.equal('10m');
    expect(formatDuration(90_000)).to.equal('90s');
    expect(formatDuration(1500)).to.equal('1500ms');
  });
});
