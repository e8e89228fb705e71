import { expect } from 'chai';
import { once } from 'node:events';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { KEY, startApp } from '../../helpers/app-server.js';
import type { TestApp } from '../../helpers/app-server.js';
import { closedBy, openSocket, rawRequest } from '../../helpers/raw-http.js';
import { periods, waitFor } from '../reload/helpers.js';

describe('app: which answers close their connection', () => {
  it('tells the connection guard of each connection that carried a valid key, and of no other', async () => {
    const trusted: Socket[] = [];
    const app = await startApp({ trustConnection: (socket) => trusted.push(socket) });
    try {
      expect((await fetch(`${app.url}/api/v1/health`, { headers: { 'X-API-Key': 'wrong' } })).status).to.equal(401);
      expect((await fetch(`${app.url}/livez`)).status).to.equal(200);
      expect(trusted).to.deep.equal([]);
      const socket = await openSocket(app.port);
      socket.write(`GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-API-Key: ${KEY}\r\nConnection: close\r\n\r\n`);
      await closedBy(socket, 2000);
      expect(trusted).to.have.length(1);
      expect(trusted[0]!.remotePort).to.equal(socket.localPort);
    } finally {
      await app.close();
    }
  });

  it('closes after a refused key, keeps a connection with the valid key open', async () => {
    const app = await startApp();
    try {
      const refused = await rawRequest(app.port, 'GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-API-Key: wrong\r\n\r\n', { keepOpen: true });
      expect(refused.text).to.match(/^HTTP\/1\.1 401 [^]*\r\nConnection: close\r\n/);
      const socket = await openSocket(app.port);
      socket.write(`GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-API-Key: ${KEY}\r\n\r\n`);
      const text = await new Promise<string>((resolve) => socket.once('data', (chunk: Buffer) => resolve(chunk.toString())));
      expect(text).to.match(/^HTTP\/1\.1 200 [^]*\r\nConnection: keep-alive\r\n/);
      expect((await closedBy(socket, 300)).closed).to.equal(false);
      socket.destroy();
    } finally {
      await app.close();
    }
  });

  it('closes after an answer a route wrote itself before the request\'s body was read', async () => {
    const app = await startApp();
    try {
      const socket = await openSocket(app.port);
      let text = '';
      socket.on('data', (chunk: Buffer) => { text += chunk.toString(); });
      socket.write(`GET /api/v1/health HTTP/1.1\r\nHost: x\r\nX-API-Key: ${KEY}\r\nContent-Length: 100\r\n\r\nab`);
      const closed = await closedBy(socket, 5000);
      expect(text).to.match(/^HTTP\/1\.1 200 /);
      expect(closed.closed).to.equal(true);
      socket.destroy();
    } finally {
      await app.close();
    }
  });

  it('answers a path that climbs out with 400 before any route or key check', async () => {
    const app = await startApp();
    try {
      const answer = await rawRequest(app.port, 'GET /api/v1/%2e%2e/metrics HTTP/1.1\r\nHost: x\r\n\r\n', { keepOpen: true });
      expect(answer.status).to.equal(400);
      expect(answer.text.endsWith('{"detail":"Invalid request path"}')).to.equal(true);
    } finally {
      await app.close();
    }
  });
});

describe('app: how a refused or early answer closes its connection', () => {
  /** A client that never closes by itself, so only the server's closing shows; resolves with it and a way to see the FIN. */
  async function halfOpenClient(port: number, request: string): Promise<{ socket: Socket; text: () => string; fin: Promise<void> }> {
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    await once(socket, 'connect');
    let text = '';
    socket.on('data', (chunk: Buffer) => { text += chunk.toString(); });
    const fin = new Promise<void>((resolve) => socket.once('end', () => resolve()));
    socket.on('error', () => {});
    socket.write(request);
    return { socket, text: () => text, fin };
  }
  const connections = (app: TestApp): Promise<number> =>
    new Promise((resolve, reject) => app.server.getConnections((err, count) => (err ? reject(err) : resolve(count))));

  for (const [what, extra] of [['no body', ''], ['Content-Length: 0', 'Content-Length: 0\r\n']]) {
    it(`frees the connection of a refused request with ${what} at once`, async () => {
      const app = await startApp();
      try {
        const client = await halfOpenClient(app.port, `POST /api/v1/x HTTP/1.1\r\nHost: x\r\nX-API-Key: wrong\r\n${extra}\r\n`);
        await client.fin;
        expect(client.text()).to.match(/^HTTP\/1\.1 401 /);
        await waitFor(async () => (await connections(app)) === 0, 'the connection to be freed', 1000, 10);
        client.socket.destroy();
      } finally {
        await app.close();
      }
    });
  }

  for (const [what, head, body] of [
    ['a Content-Length body', 'Content-Length: 100000\r\n', 'x'.repeat(10)],
    ['a chunked body', 'Transfer-Encoding: chunked\r\n', '10\r\nxxxxxxxx'],
  ]) {
    it(`answers a refused request with ${what} unread, then lingers without reading before closing`, async () => {
      const app = await startApp();
      try {
        const client = await halfOpenClient(app.port, `POST /api/v1/x HTTP/1.1\r\nHost: x\r\nX-API-Key: wrong\r\n${head}\r\n${body}`);
        await client.fin;
        expect(client.text()).to.match(/^HTTP\/1\.1 401 [^]*\r\nConnection: close\r\n/);
        await periods(20, 5);
        expect(await connections(app), 'still open: the client may still be reading its answer').to.equal(1);
        client.socket.destroy();
      } finally {
        await app.close();
      }
    });
  }

  it('closes after an answer Koa gave before reading the body, and lingers', async () => {
    const app = await startApp();
    try {
      const client = await halfOpenClient(app.port, 'POST /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nxxxx');
      await client.fin;
      expect(client.text()).to.match(/^HTTP\/1\.1 405 [^]*\r\nConnection: close\r\n/);
      await periods(20, 5);
      expect(await connections(app)).to.equal(1);
      client.socket.destroy();
    } finally {
      await app.close();
    }
  });

  it('keeps the connection after an early answer to a request with Content-Length: 0', async () => {
    const app = await startApp();
    try {
      const socket = await openSocket(app.port);
      const answers: string[] = [];
      socket.on('data', (chunk: Buffer) => answers.push(chunk.toString()));
      socket.write('POST /livez HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n');
      await waitFor(() => answers.length === 1, 'the first answer', 2000);
      socket.write('GET /livez HTTP/1.1\r\nHost: x\r\n\r\n');
      await waitFor(() => answers.length === 2, 'the second answer on the same connection', 2000);
      expect(answers.map((a) => a.split('\r\n')[0])).to.deep.equal(['HTTP/1.1 405 Method Not Allowed', 'HTTP/1.1 200 OK']);
      socket.destroy();
    } finally {
      await app.close();
    }
  });
});
