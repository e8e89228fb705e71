import { expect } from 'chai';
import { isLoopback } from '../../../src/server/tls/listener.js';

describe('listener', () => {
  it('tells loopback addresses, where plain HTTP needs no warning, from the rest', () => {
    expect(['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1'].map(isLoopback)).to.deep.equal([true, true, true, true]);
    expect(['0.0.0.0', '::', '10.0.0.1', '192.168.1.2', '::ffff:10.0.0.1', '128.0.0.1'].map(isLoopback)).to.deep.equal(Array(6).fill(false));
  });
});
