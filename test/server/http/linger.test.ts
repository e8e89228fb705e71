import { expect } from 'chai';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Server, Socket } from 'node:net';
import { closeWithoutReading } from '../../../src/server/http/linger.js';

/** A TCP server whose side of one connection the test holds, and the client's side, which never closes by itself. */
async function pair(): Promise<{ server: Server; serverSide: Socket; client: Socket }> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
  await once(client, 'connect');
  const [serverSide] = await accepted;
  return { server, serverSide, client };
}

/** What the client reads until the server's FIN. */
function readToEnd(client: Socket): Promise<string> {
  let text = '';
  client.on('data', (chunk: Buffer) => { text += chunk.toString(); });
  return new Promise((resolve) => client.once('end', () => resolve(text)));
}

describe('closeWithoutReading', () => {
  it('sends the answer, then the FIN, and keeps the socket until the linger time is over', async () => {
    const { server, serverSide, client } = await pair();
    try {
      const text = readToEnd(client);
      const started = performance.now();
      const closed = once(serverSide, 'close');
      closeWithoutReading(serverSide, 'HTTP/1.1 401 Unauthorized\r\n\r\n', 100);
      expect(await text).to.equal('HTTP/1.1 401 Unauthorized\r\n\r\n');
      expect(serverSide.destroyed).to.equal(false);
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, 2000))]);
      expect(serverSide.destroyed, 'destroyed once the linger time is over').to.equal(true);
      expect(performance.now() - started).to.be.at.least(90);
    } finally {
      client.destroy();
      server.close();
    }
  });

  it('sends the FIN alone when there is no answer to write', async () => {
    const { server, serverSide, client } = await pair();
    try {
      const text = readToEnd(client);
      closeWithoutReading(serverSide, undefined, 50);
      expect(await text).to.equal('');
    } finally {
      client.destroy();
      server.close();
    }
  });

  it('reads nothing more of what the client sends', async () => {
    const { server, serverSide, client } = await pair();
    try {
      let read = 0;
      serverSide.on('data', (chunk: Buffer) => { read += chunk.length; });
      closeWithoutReading(serverSide, undefined, 200);
      client.write('x'.repeat(1000));
      await Promise.race([once(serverSide, 'close'), new Promise((resolve) => setTimeout(resolve, 2000))]);
      expect(read).to.equal(0);
    } finally {
      client.destroy();
      server.close();
    }
  });
});
