import { expect } from 'chai';
import { clientOf } from '../../src/server/client-address.js';

describe('client address: what a connection counts against', () => {
  it('counts IPv4 by address, also when IPv4-mapped', () => {
    expect(clientOf('203.0.113.7')).to.equal('203.0.113.7');
    expect(clientOf('::ffff:203.0.113.7')).to.equal('203.0.113.7');
  });

  it('counts IPv6 by its /64, however the address is written', () => {
    const expected = '2001:db8:0:1::/64';
    for (const address of ['2001:db8:0:1::1', '2001:db8:0:1:ffff:ffff:ffff:ffff', '2001:0db8:0000:0001:0000:0000:0000:0002', '2001:DB8:0:1::9%eth0']) {
      expect(clientOf(address), address).to.equal(expected);
    }
    expect(clientOf('2001:db8:0:2::1')).to.not.equal(expected);
    expect(clientOf('::1')).to.equal('0:0:0:0::/64');
    expect(clientOf('fe80::1')).to.equal('fe80:0:0:0::/64');
  });

  it('fills the zeros of a :: in the middle in the right place', () => {
    expect(clientOf('1::2:3:4:5:6')).to.equal('1:0:0:2::/64');
    expect(clientOf('1:2::3')).to.equal('1:2:0:0::/64');
  });

  it('takes an IPv6 address with a dot as IPv4 only when it is IPv4-mapped', () => {
    expect(clientOf('64:ff9b::192.0.2.1')).to.equal('64:ff9b:0:0::/64');
    expect(clientOf('::ffff:7f00:1')).to.equal('0:0:0:0::/64');
  });

  it('puts connections without an address under one name', () => {
    expect(clientOf(undefined)).to.equal('unknown');
    expect(clientOf('')).to.equal('unknown');
  });
});
