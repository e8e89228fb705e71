import { expect } from 'chai';
import {
  atMost, nonEmpty, oneOf, parseBoolean, parseByteSize, parseCount, parseHttpUrl, parsePort, positiveDuration,
} from '../../src/server/config-values.js';

describe('config values: parsePort', () => {
  it('takes 0 to 65535', () => {
    expect(['0', '1', '8000', '65535'].map(parsePort)).to.deep.equal([0, 1, 8000, 65535]);
  });

  it('refuses anything else, naming the value and the range', () => {
    for (const bad of ['65536', '99999', '-1', '1.5', ' 80', '80 ', 'x80', '80x', '', '123456']) {
      expect(() => parsePort(bad), bad).to.throw(RangeError, `"${bad}" is not a port number (0-65535)`);
    }
  });
});

describe('config values: parseCount', () => {
  it('takes whole numbers from 1 to 1,000,000', () => {
    expect(['1', '64', '1000000'].map(parseCount)).to.deep.equal([1, 64, 1_000_000]);
  });

  it('refuses 0, more than 1,000,000 and anything not a whole number', () => {
    for (const bad of ['0', '1000001', '9999999', '12345678', '-1', '1.5', ' 5', '5 ', 'x5', '5x', '']) {
      expect(() => parseCount(bad), bad).to.throw(RangeError, `"${bad}" is not a whole number from 1 to 1000000`);
    }
  });
});

describe('config values: nonEmpty', () => {
  it('keeps any text with something but blanks in it, as given', () => {
    expect(nonEmpty(' host ')).to.equal(' host ');
  });

  it('refuses empty and blank text', () => {
    for (const bad of ['', ' ', '\t\n']) expect(() => nonEmpty(bad)).to.throw(RangeError, 'must not be empty');
  });
});

describe('config values: parseHttpUrl', () => {
  it('takes http and https URLs', () => {
    expect(parseHttpUrl('http://127.0.0.1:7860/base').href).to.equal('http://127.0.0.1:7860/base');
    expect(parseHttpUrl('https://backend').protocol).to.equal('https:');
  });

  it('refuses text that is no URL, and URLs of other schemes', () => {
    expect(() => parseHttpUrl('not a url')).to.throw(RangeError, '"not a url" is not a URL');
    expect(() => parseHttpUrl('ftp://backend')).to.throw(RangeError, '"ftp://backend" is not an http(s) URL');
  });
});

describe('config values: oneOf', () => {
  it('takes one of the words, exactly', () => {
    expect(oneOf('poll', ['events', 'poll'])).to.equal('poll');
    expect(() => oneOf('Poll', ['events', 'poll'])).to.throw(RangeError, '"Poll" is not one of events, poll');
  });
});

describe('config values: positiveDuration', () => {
  it('takes a duration longer than 0', () => {
    expect(positiveDuration('1ms')).to.equal(1);
    expect(positiveDuration('10m')).to.equal(600_000);
  });

  it('refuses 0, naming the value', () => {
    expect(() => positiveDuration('0')).to.throw(RangeError, '"0" must be longer than 0');
    expect(() => positiveDuration('0s')).to.throw(RangeError, '"0s" must be longer than 0');
  });
});

describe('config values: parseBoolean', () => {
  it('reads true/false, 1/0, yes/no, on/off in any case', () => {
    expect(['true', '1', 'yes', 'on', 'TRUE', 'Yes', 'ON'].map(parseBoolean)).to.deep.equal(Array(7).fill(true));
    expect(['false', '0', 'no', 'off', 'FALSE', 'No', 'Off'].map(parseBoolean)).to.deep.equal(Array(7).fill(false));
  });

  it('refuses anything else', () => {
    for (const bad of ['maybe', '', '2', 'y', 'n']) expect(() => parseBoolean(bad), bad).to.throw(RangeError, `"${bad}" is not true or false`);
  });
});

describe('config values: parseByteSize', () => {
  it('reads bytes, and k, m, g with or without b, in any case, as binary units', () => {
    const sizes = ['1048576', '10b', '512k', '512kb', '100mb', '100M', '1g', '1GB', '2 k', ' 3k ', '1.5k'].map(parseByteSize);
    expect(sizes).to.deep.equal([1_048_576, 10, 524_288, 524_288, 104_857_600, 104_857_600, 1_073_741_824, 1_073_741_824, 2048, 3072, 1536]);
  });

  it('rounds a fraction of a byte down, with as many decimals as given', () => {
    expect(parseByteSize('1.5')).to.equal(1);
    expect(parseByteSize('1.25k')).to.equal(1280);
  });

  it('refuses other units, signs, words and empty text', () => {
    for (const bad of ['10x', '10 tb', 'k', '-5', '+5', 'five', '', '5kk', 'x5', '5.k', '.5k']) {
      expect(() => parseByteSize(bad), bad).to.throw(RangeError, `invalid size "${bad}" (use e.g. 1048576, 512k, 100mb, 1g)`);
    }
  });

  it('refuses 0 and sizes too large to count exactly', () => {
    for (const bad of ['0', '0.5', '9999999999g']) expect(() => parseByteSize(bad), bad).to.throw(RangeError, `size "${bad}" is out of range`);
  });
});

describe('config values: atMost', () => {
  it('takes a duration up to the limit, the limit itself included', () => {
    expect(atMost(5000, 5000, '--max-grace')).to.equal(5000);
  });

  it('refuses one over it, naming both in the units they were given in', () => {
    expect(() => atMost(8 * 86_400_000, 7 * 86_400_000, '--max-grace')).to.throw(RangeError, '8d is longer than --max-grace (7d)');
  });
});
