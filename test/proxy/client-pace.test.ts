import { expect } from 'chai';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { once } from 'node:events';
import { holdContinue, sendHeldContinue } from '../../src/proxy/expect-continue.js';
import { openSocket } from '../helpers/raw-http.js';
import { startProxy, startUpstream, upstreamSaw, waitFor, type Upstream } from './harness.js';

// The forwarder and a client that reads nothing, or one that asked to be told before sending its body.

describe('proxy: a client that reads nothing of its answer', function () {
  this.timeout(20_000);
  let upstream: Upstream;

  before(async () => { upstream = await startUpstream(); });
  after(async () => { await upstream?.stop(); });

  it('is cut after the write timeout, the upstream exchange with it, and logged at info', async () => {
    const proxy = await startProxy({ upstream: upstream.url, writeTimeoutMs: 300 });
    try {
      const socket = await openSocket(Number(new URL(proxy.url).port));
      socket.on('error', () => {});
      socket.write('GET /api/v1/big?mb=256 HTTP/1.1\r\nHost: x\r\nX-Request-Id: pace-1\r\n\r\n');
      await once(socket, 'data');
      socket.pause();
      const line = await waitFor('the stall line', async () => proxy.logs.find((l) => l.includes('client stopped reading')), 10_000);
      expect(JSON.parse(line)).to.include({ level: 'info', requestId: 'pace-1', writeTimeoutMs: 300 });
      await waitFor('the upstream to see the abort', async () => ((await upstreamSaw(upstream.url, 'pace-1'))?.state === 'aborted' ? true : undefined));
      socket.destroy();
    } finally {
      await proxy.close();
    }
  });

  it('is not cut while it keeps reading, with pauses shorter than the timeout', async () => {
    // 200 ms pauses against a 1 s timeout: a margin a busy machine's late timers cannot eat up.
    const proxy = await startProxy({ upstream: upstream.url, writeTimeoutMs: 1000 });
    try {
      const socket = await openSocket(Number(new URL(proxy.url).port));
      socket.write('GET /api/v1/big?mb=32 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
      let received = 0;
      socket.on('data', (chunk: Buffer) => { received += chunk.length; });
      // Reads in spurts, 20 ms reading after each 200 ms paused: the proxy's writes stall again and again,
      // each time for less than the 1000 ms allowed.
      socket.pause();
      let spurts = 0;
      const pace = setInterval(() => { spurts++; socket.resume(); setTimeout(() => socket.pause(), 20); }, 220);
      try {
        await once(socket, 'end');
      } finally {
        clearInterval(pace);
      }
      expect(spurts).to.be.above(2);
      expect(received).to.be.above(32 * 1024 * 1024);
      expect(proxy.logs.some((l) => l.includes('client stopped reading'))).to.equal(false);
    } finally {
      await proxy.close();
    }
  });
});

describe('proxy: a held-back 100 Continue', () => {
  /** A server whose handler sends the held 100 only when `send` says so, then answers with what it read. */
  async function server(send: boolean) {
    const s = createServer();
    s.on('checkContinue', (req, res) => {
      holdContinue(req);
      if (send) {
        sendHeldContinue(req, res);
        sendHeldContinue(req, res); // once only
        let body = '';
        req.on('data', (chunk: Buffer) => { body += chunk.toString(); }).on('end', () => res.end(`got ${body}`));
      } else {
        res.writeHead(401, { Connection: 'close' }).end();
      }
    });
    s.listen(0, '127.0.0.1');
    await once(s, 'listening');
    return { port: (s.address() as AddressInfo).port, close: () => new Promise((resolve) => { s.closeAllConnections(); s.close(resolve); }) };
  }

  it('goes out once, only when asked, and the body follows', async () => {
    const s = await server(true);
    try {
      const socket = await openSocket(s.port);
      let text = '';
      socket.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      socket.write('POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n');
      await waitFor('100 Continue', async () => (text.includes('100 Continue') ? true : undefined));
      socket.write('ok');
      await waitFor('the answer', async () => (text.includes('got ok') ? true : undefined));
      expect(text.match(/100 Continue/g)).to.have.length(1);
      socket.destroy();
    } finally {
      await s.close();
    }
  });

  it('never goes out for a request answered without it', async () => {
    const s = await server(false);
    try {
      const socket = await openSocket(s.port);
      let text = '';
      socket.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      socket.write('POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n');
      await once(socket, 'end');
      expect(text).to.match(/^HTTP\/1\.1 401 /);
      expect(text).to.not.include('100 Continue');
    } finally {
      await s.close();
    }
  });

  it('is not sent for a request that was never held', () => {
    let sent = 0;
    sendHeldContinue({}, { writeContinue: () => { sent++; } });
    expect(sent).to.equal(0);
  });
});
