// Reference: the least a Node reverse proxy can do per request — node:http in front, an undici Pool
// behind, the answer written straight into the response — with no auth, routing, logging or metrics.
// It shows what forwarding itself costs on this machine, as the ceiling for the daemon's proxy.
import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import type { Dispatcher } from 'undici';
import { announce, exitOnSignals, portFromArgv } from './common.js';

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding']);
const upstream = new URL(process.argv[process.argv.indexOf('--upstream') + 1] ?? '');
const pool = new Pool(upstream.origin);

const server = createServer((req, res) => {
  const headers: IncomingHttpHeaders = { host: upstream.host };
  for (const [name, value] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(name) && name !== 'host') headers[name] = value;
  const handler: Dispatcher.DispatchHandler = {
    onRequestStart() {}, // undici tells the handler APIs apart by this method
    onResponseStart(_controller, statusCode, answer) {
      res.statusCode = statusCode;
      for (const [name, value] of Object.entries(answer)) if (value !== undefined && !HOP_BY_HOP.has(name)) res.setHeader(name, value);
    },
    onResponseData(controller, chunk) {
      if (!res.write(chunk)) {
        controller.pause();
        res.once('drain', () => controller.resume());
      }
    },
    onResponseEnd() {
      res.end();
    },
    onResponseError() {
      if (res.headersSent) res.destroy();
      else res.writeHead(502).end();
    },
  };
  pool.dispatch({ path: req.url ?? '/', method: req.method as Dispatcher.HttpMethod, headers: headers as Record<string, string>, body: req.method === 'GET' || req.method === 'HEAD' ? null : req }, handler);
});
server.listen(portFromArgv(), '127.0.0.1', () => announce((server.address() as AddressInfo).port));
exitOnSignals((done) => server.close(done));
