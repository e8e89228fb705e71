// A tiny upstream for the proxy section: answers every request with a small JSON, draining any body.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { announce, exitOnSignals, portFromArgv } from './common.js';

const body = JSON.stringify({ status: 'ok', result: 'edited', id: 'img_0123456789' });
const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.listen(portFromArgv(), '127.0.0.1', () => announce((server.address() as AddressInfo).port));
exitOnSignals((done) => server.close(done));
