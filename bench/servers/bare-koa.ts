// Reference: Koa + @koa/router serving the same JSON with no auth, logging or metrics — the daemon's target.
import Koa from 'koa';
import Router from '@koa/router';
import type { AddressInfo } from 'node:net';
import { announce, exitOnSignals, healthBody, portFromArgv } from './common.js';

const app = new Koa();
const router = new Router();
router.get('/api/v1/health', (ctx) => {
  ctx.type = 'application/json; charset=utf-8';
  ctx.body = healthBody();
});
app.use(router.routes());
const server = app.listen(portFromArgv(), '127.0.0.1', () => announce((server.address() as AddressInfo).port));
exitOnSignals((done) => server.close(done));
