import { expect } from 'chai';
import { fingerprint, generateKey } from '../../../src/core/key.js';
import { keyFileWith, registerSecret, spawnServer, tempDir } from '../../helpers/server-process.js';
import type { ServerProcess } from '../../helpers/server-process.js';

describe('server process: routes and answers', () => {
  let server: ServerProcess;
  let cleanup: () => Promise<void>;
  const key = generateKey();
  registerSecret(key);

  before(async () => {
    const tmp = await tempDir();
    cleanup = tmp.cleanup;
    const keyFile = await keyFileWith(tmp.dir, key);
    server = await spawnServer({ args: ['--port', '0', '--host', '127.0.0.1', '--key-file', keyFile, '--log-level', 'http'] });
  });
  after(async () => {
    await server?.stop();
    await cleanup?.();
  });

  it('logs listening with host, port and url', () => {
    const line = server.lines().find((l) => l.message === 'listening')!;
    expect(line.host).to.equal('127.0.0.1');
    expect(line.port).to.be.a('number').greaterThan(0);
    expect(line.url).to.equal(`http://127.0.0.1:${String(line.port)}`);
  });

  it('answers /livez with status ok only', async () => {
    const res = await fetch(`${server.url}/livez`);
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ status: 'ok' });
  });

  it('answers /readyz 200 once a key is loaded', async () => {
    const res = await fetch(`${server.url}/readyz`);
    expect(res.status).to.equal(200);
    expect(await res.json()).to.deep.equal({ status: 'ready' });
  });

  it('refuses /api/v1/health without a key: 401 JSON with WWW-Authenticate', async () => {
    const res = await fetch(`${server.url}/api/v1/health`);
    expect(res.status).to.equal(401);
    expect(res.headers.get('www-authenticate')).to.match(/^Bearer /);
    expect(await res.json()).to.deep.equal({ detail: 'Invalid or missing API key' });
  });

  it('answers /api/v1/health with the key, describing it by fingerprint only', async () => {
    for (const headers of [{ 'X-API-Key': key }, { Authorization: `Bearer ${key}` }] as Record<string, string>[]) {
      const res = await fetch(`${server.url}/api/v1/health`, { headers });
      expect(res.status).to.equal(200);
      const text = await res.text();
      expect(text.includes(key)).to.equal(false);
      const body = JSON.parse(text) as { status: string; version: string; key: { source: string; fingerprint: string } };
      expect(body.status).to.equal('ok');
      expect(body.version).to.match(/^\d+\.\d+\.\d+/);
      expect(body.key.source).to.equal('file');
      expect(body.key.fingerprint).to.equal(fingerprint(key));
    }
  });

  it('serves /metrics in Prometheus text format with the key only', async () => {
    // Counters this test moves itself, so it holds alone and in any order: the counts only grow.
    const sample = async (name: string): Promise<number> => {
      const text = await (await fetch(`${server.url}/metrics`, { headers: { 'X-API-Key': key } })).text();
      return Number(text.split('\n').find((l) => l.startsWith(`${name} `))?.slice(name.length + 1) ?? 0);
    };
    const livez = 'qwen_http_requests_total{route="/livez",code="200"}';
    const missing = 'qwen_auth_failures_total{reason="missing"}';
    const [livezBefore, missingBefore] = [await sample(livez), await sample(missing)];
    await (await fetch(`${server.url}/livez`)).arrayBuffer();
    expect((await fetch(`${server.url}/metrics`)).status).to.equal(401);
    expect([await sample(livez), await sample(missing)]).to.deep.equal([livezBefore + 1, missingBefore + 1]);
    const res = await fetch(`${server.url}/metrics`, { headers: { 'X-API-Key': key } });
    expect(res.status).to.equal(200);
    expect(res.headers.get('content-type')).to.match(/^text\/plain/);
    const text = await res.text();
    expect(text).to.include('qwen_key_seconds_since_load');
    expect(text).to.include('process_cpu_user_seconds_total');
  });

  it('answers other /api/v1 paths 503 JSON when no upstream is configured, 401 without key', async () => {
    expect((await fetch(`${server.url}/api/v1/edit`, { method: 'POST' })).status).to.equal(401);
    const res = await fetch(`${server.url}/api/v1/edit`, { method: 'POST', headers: { 'X-API-Key': key }, body: 'x' });
    expect(res.status).to.equal(503);
    expect(await res.json()).to.deep.equal({ detail: 'No upstream configured' });
  });

  it('answers unknown paths 404 JSON and a wrong method 405 JSON with Allow', async () => {
    const missing = await fetch(`${server.url}/nothing-here`);
    expect(missing.status).to.equal(404);
    expect(await missing.json()).to.deep.equal({ detail: 'Not found' });
    const wrong = await fetch(`${server.url}/livez`, { method: 'DELETE' });
    expect(wrong.status).to.equal(405);
    expect(wrong.headers.get('allow')).to.include('GET');
    expect(await wrong.json()).to.have.property('detail');
  });

  it('echoes a sane X-Request-Id and logs it in the access line, without the key', async () => {
    const res = await fetch(`${server.url}/api/v1/health`, { headers: { 'X-API-Key': key, 'X-Request-Id': 'req-abc.123' } });
    expect(res.headers.get('x-request-id')).to.equal('req-abc.123');
    const line = await server.waitForLine((l) => l.message === 'request' && l.requestId === 'req-abc.123');
    expect(line).to.include({ level: 'http', method: 'GET', path: '/api/v1/health', status: 200 });
    const generated = await fetch(`${server.url}/livez`, { headers: { 'X-Request-Id': 'bad id with spaces' } });
    expect(generated.headers.get('x-request-id')).to.match(/^[0-9a-f-]{36}$/);
  });
});
