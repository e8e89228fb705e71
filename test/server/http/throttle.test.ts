import { expect } from 'chai';
import { FailureThrottle } from '../../../src/server/http/throttle.js';

describe('FailureThrottle', () => {
  it('allows a burst of failures, then asks the client to wait', () => {
    let now = 0;
    const throttle = new FailureThrottle({ rate: { count: 3, periodMs: 3000 }, clock: () => now });
    expect([throttle.fail('a'), throttle.fail('a'), throttle.fail('a')]).to.deep.equal([0, 0, 0]);
    expect(throttle.fail('a')).to.equal(1);
    now += 1000;
    expect(throttle.fail('a')).to.equal(0);
  });

  it('keeps clients apart', () => {
    const throttle = new FailureThrottle({ rate: { count: 1, periodMs: 60_000 }, clock: () => 0 });
    expect(throttle.fail('a')).to.equal(0);
    expect(throttle.fail('a')).to.equal(60);
    expect(throttle.fail('b')).to.equal(0);
  });

  it('forgets the least recent client beyond its cap', () => {
    const throttle = new FailureThrottle({ rate: { count: 1, periodMs: 60_000 }, maxClients: 2, clock: () => 0 });
    throttle.fail('a');
    throttle.fail('b');
    throttle.fail('a');
    throttle.fail('c');
    expect(throttle.size).to.equal(2);
    expect(throttle.fail('b')).to.equal(0); // b was evicted, so it starts with a full bucket
    expect(throttle.fail('c')).to.be.greaterThan(0);
  });

  it('counts the IPv6 addresses of one /64 as one client, and another /64 apart', () => {
    const throttle = new FailureThrottle({ rate: { count: 1, periodMs: 60_000 }, clock: () => 0 });
    expect(throttle.fail('2001:db8:1:2::1')).to.equal(0);
    expect(throttle.fail('2001:db8:1:2:ffff:ee:dd:cc')).to.equal(60);
    expect(throttle.fail('2001:db8:1:3::1')).to.equal(0);
  });

  it('keeps IPv4 addresses apart, and counts an IPv4-mapped address as its IPv4 address', () => {
    const throttle = new FailureThrottle({ rate: { count: 1, periodMs: 60_000 }, clock: () => 0 });
    expect(throttle.fail('10.0.0.1')).to.equal(0);
    expect(throttle.fail('::ffff:10.0.0.1')).to.equal(60);
    expect(throttle.fail('10.0.0.2')).to.equal(0);
  });

  it('counts failures from an unknown address together', () => {
    const throttle = new FailureThrottle({ rate: { count: 1, periodMs: 60_000 }, clock: () => 0 });
    expect(throttle.fail(undefined)).to.equal(0);
    expect(throttle.fail('')).to.equal(60);
  });

  it('asks for the time until one whole failure is allowed again, counting what has refilled', () => {
    let now = 0;
    const throttle = new FailureThrottle({ rate: { count: 1, periodMs: 10_000 }, clock: () => now });
    expect(throttle.fail('a')).to.equal(0);
    now = 5000; // half a token back
    expect(throttle.fail('a')).to.equal(5);
  });
});
