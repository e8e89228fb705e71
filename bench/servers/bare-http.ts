// Reference: plain node:http serving the health JSON — the ceiling for any Node server on this machine.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announce, exitOnSignals, healthBody, portFromArgv } from './common.js';

const server = createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/api/v1/health') {
    const body = healthBody();
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  res.writeHead(404, { 'content-type': 'application/json; charset=utf-8' });
  res.end('{"detail":"Not Found"}');
});
server.listen(portFromArgv(), '127.0.0.1', () => announce((server.address() as AddressInfo).port));
exitOnSignals((done) => server.close(done));
