import { expect } from 'chai';
import { serverTimeouts } from '../../src/server/http-server.js';

describe('http server: timeouts', () => {
  it('waits --header-timeout for headers and the upstream timeout for a whole request, not Node\'s 60 s and 300 s', () => {
    expect(serverTimeouts({ headerTimeoutMs: 10_000, requestTimeoutMs: 600_000 })).to.deep.include({ headersTimeout: 10_000, requestTimeout: 600_000 });
  });

  it('never gives a request less time than its headers (Node refuses that)', () => {
    expect(serverTimeouts({ headerTimeoutMs: 10_000, requestTimeoutMs: 2000 }).requestTimeout).to.equal(10_000);
  });

  it('looks for expired connections every second at most, and never more often than every 100 ms', () => {
    expect(serverTimeouts({ headerTimeoutMs: 10_000, requestTimeoutMs: 10_000 }).connectionsCheckingInterval).to.equal(1000);
    expect(serverTimeouts({ headerTimeoutMs: 1000, requestTimeoutMs: 1000 }).connectionsCheckingInterval).to.equal(250);
    expect(serverTimeouts({ headerTimeoutMs: 100, requestTimeoutMs: 100 }).connectionsCheckingInterval).to.equal(100);
  });
});
