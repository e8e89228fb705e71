import { expect } from 'chai';
import { clientErrorHandler, pathOf, toErrorAnswer } from '../../../src/server/http/http-errors.js';
import { KEY, startApp } from '../../helpers/app-server.js';
import { rawRequest } from '../../helpers/raw-http.js';
import { captureLogger } from '../reload/helpers.js';

const startLogger = () => captureLogger().logger;

describe('toErrorAnswer', () => {
  it('shows the message of an exposed client error, with its headers', () => {
    const thrown = Object.assign(new Error('slow down'), { status: 429, expose: true, headers: { 'Retry-After': '3' } });
    expect(toErrorAnswer(thrown)).to.deep.equal({ status: 429, detail: 'slow down', headers: { 'Retry-After': '3' } });
  });

  it('turns a URIError (bad percent-encoding) into 400', () => {
    expect(toErrorAnswer(new URIError('URI malformed'))).to.deep.include({ status: 400 });
  });

  it('hides the message of unexpected errors and of 5xx', () => {
    expect(toErrorAnswer(new Error('db password is hunter2'))).to.deep.include({ status: 500, detail: 'Internal server error' });
    expect(toErrorAnswer(Object.assign(new Error('x'), { status: 502, expose: true }))).to.deep.include({ detail: 'Internal server error' });
  });

  it('uses the standard phrase for an unexposed client error (e.g. Koa body errors)', () => {
    expect(toErrorAnswer(Object.assign(new Error('raw'), { status: 413 }))).to.deep.include({ status: 413, detail: 'Payload Too Large' });
  });

  it('survives odd thrown values', () => {
    for (const value of [undefined, null, 42, 'text', { status: 'x' }, { status: 999 }]) {
      expect(toErrorAnswer(value).status).to.equal(500);
    }
  });
});

describe('toErrorAnswer: edges', () => {
  const withStatus = (fields: Record<string, unknown>): Error => Object.assign(new Error('shown'), fields);

  it('takes statusCode when there is no status, and only 400 to 599', () => {
    expect(toErrorAnswer(withStatus({ statusCode: 404 })).status).to.equal(404);
    expect(toErrorAnswer(withStatus({ status: 400 })).status).to.equal(400);
    expect(toErrorAnswer(withStatus({ status: 599 })).status).to.equal(599);
    expect(toErrorAnswer(withStatus({ status: 399 })).status).to.equal(500);
    expect(toErrorAnswer(withStatus({ status: 600 })).status).to.equal(500);
    expect(toErrorAnswer(withStatus({ status: '404' })).status).to.equal(500);
    expect(toErrorAnswer(withStatus({ statusCode: '404' })).status).to.equal(500);
  });

  it('shows a message only when exposed, and only a non-empty one', () => {
    expect(toErrorAnswer(withStatus({ status: 400, expose: true })).detail).to.equal('shown');
    expect(toErrorAnswer(withStatus({ status: 400, expose: 'yes' })).detail).to.equal('Bad Request');
    expect(toErrorAnswer(withStatus({ status: 499, expose: true })).detail).to.equal('shown');
    expect(toErrorAnswer(withStatus({ status: 500, expose: true })).detail).to.equal('Internal server error');
    expect(toErrorAnswer(withStatus({ status: 400 })).detail).to.equal('Bad Request');
    expect(toErrorAnswer(Object.assign(new Error(''), { status: 400, expose: true })).detail).to.equal('Bad Request');
    expect(toErrorAnswer({ status: 400, expose: true, message: 42 }).detail).to.equal('Bad Request');
  });

  it('names a client error without a standard phrase "Error"', () => {
    expect(toErrorAnswer(withStatus({ status: 499 })).detail).to.equal('Error');
  });

  it('passes headers on only when they are an object', () => {
    expect(toErrorAnswer(withStatus({ status: 400, headers: 'x' })).headers).to.equal(undefined);
    expect(toErrorAnswer(withStatus({ status: 400, headers: null })).headers).to.equal(undefined);
    expect(toErrorAnswer(withStatus({ status: 400 })).headers).to.equal(undefined);
  });

  it('answers an absolute-form target Node accepts but URL cannot parse with 400 Malformed URL', () => {
    expect(toErrorAnswer(Object.assign(new TypeError('Invalid URL'), { code: 'ERR_INVALID_URL' }))).to.deep.equal({ status: 400, detail: 'Malformed URL' });
    expect(toErrorAnswer(new URIError('URI malformed'))).to.deep.equal({ status: 400, detail: 'Malformed URL' });
  });
});

describe('pathOf', () => {
  it('is the request path, or a placeholder for one Koa cannot parse', () => {
    expect(pathOf({ path: '/api/v1/x' } as Parameters<typeof pathOf>[0])).to.equal('/api/v1/x');
    const broken = { get path(): string { throw new URIError('URI malformed'); } };
    expect(pathOf(broken as unknown as Parameters<typeof pathOf>[0])).to.equal('(malformed)');
  });
});

describe('answerError in the app', () => {
  it('drops the headers a failed handler had set, keeps the request id, and answers the error as JSON', async () => {
    const app = await startApp({
      forward: async (ctx) => {
        ctx.set('X-Partial', 'yes');
        ctx.set('Cache-Control', 'public');
        throw Object.assign(new Error('Gone for good'), { status: 410, expose: true, headers: { 'X-Why': 'moved' } });
      },
    });
    try {
      const res = await fetch(`${app.url}/api/v1/x`, { headers: { 'X-API-Key': KEY, 'X-Request-Id': 'req-7' } });
      expect(res.status).to.equal(410);
      expect(await res.json()).to.deep.equal({ detail: 'Gone for good' });
      expect(res.headers.get('x-partial')).to.equal(null);
      expect(res.headers.get('cache-control')).to.equal(null);
      expect(res.headers.get('x-why')).to.equal('moved');
      expect(res.headers.get('x-request-id')).to.equal('req-7');
    } finally {
      await app.close();
    }
  });

  it('logs a 500 with the request id, the path and the stack; a client error not at all', async () => {
    let thrown: unknown = new Error('internal detail');
    const app = await startApp({ forward: async () => { throw thrown; } });
    try {
      await (await fetch(`${app.url}/api/v1/x?q=1`, { headers: { 'X-API-Key': KEY, 'X-Request-Id': 'req-8' } })).arrayBuffer();
      const failed = app.logs.filter((l) => l.message === 'request failed');
      expect(failed).to.have.length(1);
      expect(failed[0]).to.deep.include({ level: 'error', requestId: 'req-8', path: '/api/v1/x' });
      expect(String(failed[0]!.error)).to.match(/^Error: internal detail\n\s+at /);
      thrown = 'a thrown string';
      await (await fetch(`${app.url}/api/v1/y`, { headers: { 'X-API-Key': KEY } })).arrayBuffer();
      expect(app.logs.filter((l) => l.message === 'request failed').at(-1)).to.deep.include({ error: 'a thrown string' });
      thrown = Object.assign(new Error('nope'), { status: 404 });
      const before = app.logs.length;
      await (await fetch(`${app.url}/api/v1/z`, { headers: { 'X-API-Key': KEY } })).arrayBuffer();
      expect(app.logs.slice(before).filter((l) => l.level === 'error')).to.deep.equal([]);
    } finally {
      await app.close();
    }
  });

  it('answers 500 for a thrown null, and logs it', async () => {
    const app = await startApp({ forward: async () => { throw null; } });
    try {
      const res = await fetch(`${app.url}/api/v1/x`, { headers: { 'X-API-Key': KEY } });
      expect(res.status).to.equal(500);
      expect(await res.json()).to.deep.equal({ detail: 'Internal server error' });
      expect(app.logs.find((l) => l.message === 'request failed')).to.deep.include({ error: 'null' });
    } finally {
      await app.close();
    }
  });

  it('cuts the connection when the failure comes after the headers were sent', async () => {
    const app = await startApp({
      forward: async (ctx) => {
        ctx.respond = false;
        ctx.res.writeHead(200, { 'Content-Length': '100' });
        ctx.res.write('part of it');
        await new Promise((resolve) => setTimeout(resolve, 10));
        throw new Error('stream failed');
      },
    });
    try {
      const res = await fetch(`${app.url}/api/v1/x`, { headers: { 'X-API-Key': KEY } });
      expect(res.status).to.equal(200);
      let failed = false;
      await res.arrayBuffer().catch(() => { failed = true; });
      expect(failed).to.equal(true);
    } finally {
      await app.close();
    }
  });
});

describe('clientErrorHandler', () => {
  it('answers a request Node cannot parse with 400 JSON and closes, logging it at debug', async () => {
    const app = await startApp({ level: 'debug' });
    try {
      const answer = await rawRequest(app.port, 'GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n');
      expect(answer.text).to.equal('HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; charset=utf-8\r\n'
        + 'Content-Length: 24\r\nConnection: close\r\n\r\n{"detail":"Bad request"}');
      expect(app.logs.find((l) => l.message === 'unparsable request')).to.deep.include({ level: 'debug', status: 400 });
    } finally {
      await app.close();
    }
  });

  it('answers headers over the limit with 431', async () => {
    const app = await startApp();
    try {
      const answer = await rawRequest(app.port, `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
      expect(answer.status).to.equal(431);
      expect(answer.text.endsWith('{"detail":"Request headers too large"}')).to.equal(true);
    } finally {
      await app.close();
    }
  });

  it('says nothing more on a socket whose answer has begun, or that is already gone', () => {
    const destroyed: string[] = [];
    const written: string[] = [];
    const socket = (fields: Record<string, unknown>) => ({
      writable: true, destroy: () => destroyed.push('x'), end: (text: string) => written.push(text), pause: () => {}, ...fields,
    });
    const handle = clientErrorHandler(startLogger());
    handle(Object.assign(new Error('x'), { code: 'HPE_INVALID_METHOD' }), socket({ _httpMessage: { headersSent: true } }) as never);
    handle(Object.assign(new Error('x'), { code: 'HPE_INVALID_METHOD' }), socket({ writable: false }) as never);
    handle(Object.assign(new Error('x'), { code: 'ECONNRESET' }), socket({}) as never);
    expect(destroyed).to.have.length(3);
    expect(written).to.deep.equal([]);
  });

  it('answers a header timeout with 408', () => {
    const written: string[] = [];
    const socket = { writable: true, destroy: () => {}, end: (text: string) => written.push(text), pause: () => {} };
    const handle = clientErrorHandler(startLogger());
    handle(Object.assign(new Error('x'), { code: 'ERR_HTTP_HEADERS_TIMEOUT' }), socket as never);
    handle(Object.assign(new Error('x'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' }), socket as never);
    expect(written.map((text) => text.split('\r\n')[0])).to.deep.equal(['HTTP/1.1 408 Request Timeout', 'HTTP/1.1 408 Request Timeout']);
    for (const text of written) expect(text.endsWith('{"detail":"Request timeout"}')).to.equal(true);
  });
});
