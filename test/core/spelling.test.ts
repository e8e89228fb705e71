import { expect } from 'chai';
import { closestSpelling } from '../../src/core/spelling.js';

const KNOWN = ['-Rotate', '--rotate', '--port', '--json', '--key-file', '-h'];

describe('closestSpelling', () => {
  it('suggests the spelling one edit away, in its own case: a letter dropped, added, changed', () => {
    expect(closestSpelling('-Rotat', KNOWN)).to.equal('-Rotate');
    expect(closestSpelling('-rotatee', KNOWN)).to.equal('-Rotate');
    expect(closestSpelling('--jsom', KNOWN)).to.equal('--json');
    expect(closestSpelling('--KEY-FILE', ['--key-file'])).to.equal('--key-file');
  });

  it('counts two neighbouring letters swapped as one edit', () => {
    expect(closestSpelling('--prot', KNOWN)).to.equal('--port');
    expect(closestSpelling('--jsno', KNOWN)).to.equal('--json');
  });

  it('counts a swap only where both letters trade places, not where one of them matches', () => {
    expect(closestSpelling('--xyab', ['--xyca']), 'ab / ca: two edits').to.equal(undefined);
    expect(closestSpelling('--xyca', ['--xyab']), 'ca / ab: two edits').to.equal(undefined);
    expect(closestSpelling('bac', ['abc'])).to.equal('abc');
  });

  it('prefers the closest spelling, and the first of equally close ones', () => {
    expect(closestSpelling('--rotat', KNOWN)).to.equal('--rotate');
    expect(closestSpelling('--abcd', ['--abxy', '--abcx', '--abcy'])).to.equal('--abcx');
  });

  it('suggests nothing for a word far from every spelling: more than two edits, or edits for half its letters', () => {
    expect(closestSpelling('-x', KNOWN)).to.equal(undefined);
    expect(closestSpelling('--ab', ['--ax'])).to.equal(undefined);
    expect(closestSpelling('--abc', ['--abx'])).to.equal('--abx');
    expect(closestSpelling('--js', KNOWN)).to.equal(undefined);
    expect(closestSpelling('--jso', KNOWN)).to.equal('--json');
    expect(closestSpelling('--keyfil', KNOWN)).to.equal('--key-file');
    expect(closestSpelling('--kyefil', KNOWN)).to.equal(undefined);
    expect(closestSpelling('--frobnicate', KNOWN)).to.equal(undefined);
    expect(closestSpelling('--abcdefgh', ['--abcdexyz']), 'three edits in eight letters').to.equal(undefined);
    expect(closestSpelling('a-b', ['a-c']), 'dashes inside a word count as letters').to.equal('a-c');
  });

  it('suggests nothing from an empty list', () => {
    expect(closestSpelling('--port', [])).to.equal(undefined);
  });
});
