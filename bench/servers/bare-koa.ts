// Reference: Koa + @koa/router serving the same JSON with no auth, logging or metrics — the daemon's target.
// With --tls-cert/--tls-key it serves HTTPS through node:https, or with --h2 through an HTTP/2 server that
// also takes HTTP/1.1 (the daemon's kind of server).
import Koa from 'koa';
import Router from '@koa/router';
import { createServer } from 'node:http';
import { createSecureServer } from 'node:http2';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { announce, exitOnSignals, healthBody, portFromArgv, tlsFromArgv } from './common.js';

const app = new Koa();
const router = new Router();
router.get('/api/v1/health', (ctx) => {
  ctx.type = 'application/json; charset=utf-8';
  ctx.body = healthBody();
});
app.use(router.routes());
const tls = tlsFromArgv();
const server = !tls ? createServer(app.callback())
  : process.argv.includes('--h2') ? createSecureServer({ ...tls, allowHTTP1: true }, app.callback())
  : createHttpsServer(tls, app.callback());
server.listen(portFromArgv(), '127.0.0.1', () => announce((server.address() as AddressInfo).port));
exitOnSignals((done) => server.close(done));
