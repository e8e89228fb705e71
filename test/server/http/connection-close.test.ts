import { expect } from 'chai';
import type { Socket } from 'node:net';
import { KEY, startApp } from '../../helpers/app-server.js';
import { closedBy, openSocket, rawRequest } from '../../helpers/raw-http.js';

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
