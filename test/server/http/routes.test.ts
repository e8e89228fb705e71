import { expect } from 'chai';
import { createUpstreamMonitor } from '../../../src/proxy/upstream-monitor.js';
import { KEY, startApp } from '../../helpers/app-server.js';
import { waitFor } from '../reload/helpers.js';

const withKey = { headers: { 'X-API-Key': KEY } };

describe('routes: the open ones', () => {
  it('/livez answers {"status":"ok"} as JSON, nothing else', async () => {
    const app = await startApp();
    try {
      const res = await fetch(`${app.url}/livez`);
      expect(res.headers.get('content-type')).to.equal('application/json; charset=utf-8');
      expect(await res.text()).to.equal('{"status":"ok"}');
    } finally {
      await app.close();
    }
  });

  it('/readyz answers {"status":"ready"} as JSON, never cached', async () => {
    const app = await startApp();
    try {
      const res = await fetch(`${app.url}/readyz`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('application/json; charset=utf-8');
      expect(res.headers.get('cache-control')).to.equal('no-store');
      expect(await res.text()).to.equal('{"status":"ready"}');
    } finally {
      await app.close();
    }
  });

  it('/readyz says why it is not ready, never cached', async () => {
    const app = await startApp({ noKey: true });
    try {
      const res = await fetch(`${app.url}/readyz`);
      expect(res.status).to.equal(503);
      expect(res.headers.get('cache-control')).to.equal('no-store');
      expect(await res.json()).to.deep.equal({ detail: 'No valid API key loaded' });
    } finally {
      await app.close();
    }
  });

  it('/readyz does not ask the upstream unless readiness requires it', async () => {
    let probes = 0;
    const upstream = createUpstreamMonitor({ url: new URL('http://backend:1'), probe: async () => { probes++; return { reachable: false }; } });
    const app = await startApp({ upstream });
    try {
      expect((await fetch(`${app.url}/readyz`)).status).to.equal(200);
      expect(probes).to.equal(0);
    } finally {
      await app.close();
    }
  });

  it('a wrong method on an open path is 405 without a key', async () => {
    const app = await startApp();
    try {
      for (const path of ['/livez', '/readyz']) {
        const res = await fetch(app.url + path, { method: 'POST' });
        expect(res.status, path).to.equal(405);
        expect(res.headers.get('allow')).to.equal('GET, HEAD');
        expect(await res.json()).to.deep.equal({ detail: 'Method not allowed' });
      }
    } finally {
      await app.close();
    }
  });
});

describe('routes: behind the key', () => {
  it('/metrics answers the Prometheus text format, never cached', async () => {
    const app = await startApp();
    try {
      const res = await fetch(`${app.url}/metrics`, withKey);
      expect(res.headers.get('content-type')).to.match(/^text\/plain; version=0\.0\.4; charset=utf-8$/);
      expect(res.headers.get('cache-control')).to.equal('no-store');
      expect(await res.text()).to.include('# TYPE qwen_http_requests_total counter');
    } finally {
      await app.close();
    }
  });

  it('/metrics and /api/v1/health refuse a request without the key before anything else', async () => {
    const app = await startApp();
    try {
      expect((await fetch(`${app.url}/metrics`)).status).to.equal(401);
      expect((await fetch(`${app.url}/api/v1/health`)).status).to.equal(401);
    } finally {
      await app.close();
    }
  });
});

describe('routes: health before the upstream was ever probed', () => {
  it('waits for the first probe, then answers with what it found', async () => {
    let answer: ((result: { reachable: boolean }) => void) | undefined;
    const upstream = createUpstreamMonitor({ url: new URL('http://backend:1'), probe: () => new Promise((resolve) => { answer = resolve; }) });
    const app = await startApp({ upstream });
    try {
      const pending = fetch(`${app.url}/api/v1/health`, withKey);
      await waitFor(() => answer !== undefined, 'the first probe');
      answer!({ reachable: true });
      const res = await pending;
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('application/json; charset=utf-8');
      expect((await res.json() as { upstream: unknown }).upstream).to.deep.include({ configured: true, reachable: true });
    } finally {
      await app.close();
    }
  });
});

describe('routes: everything else', () => {
  it('forwards /api/v1 itself and what is below it, and answers 503 without an upstream', async () => {
    const app = await startApp();
    try {
      for (const path of ['/api/v1', '/api/v1/', '/api/v1/edit']) {
        const res = await fetch(app.url + path, withKey);
        expect(res.status, path).to.equal(503);
        expect(await res.json()).to.deep.equal({ detail: 'No upstream configured' });
      }
    } finally {
      await app.close();
    }
  });

  it('asks for the key before saying there is no upstream', async () => {
    const app = await startApp();
    try {
      expect((await fetch(`${app.url}/api/v1/edit`)).status).to.equal(401);
    } finally {
      await app.close();
    }
  });

  it('answers 404 for paths that only look like /api/v1, with or without the key', async () => {
    const app = await startApp();
    try {
      for (const path of ['/api/v10', '/api/v1x/edit', '/api/v2/edit', '/', '/api']) {
        const res = await fetch(app.url + path, withKey);
        expect(res.status, path).to.equal(404);
        expect(await res.json()).to.deep.equal({ detail: 'Not found' });
      }
    } finally {
      await app.close();
    }
  });

  it('counts forwarded requests under /api/v1/*, whatever the path', async () => {
    const app = await startApp();
    try {
      await (await fetch(`${app.url}/api/v1/a`, withKey)).arrayBuffer();
      await (await fetch(`${app.url}/api/v1/b`)).arrayBuffer();
      const text = await (await fetch(`${app.url}/metrics`, withKey)).text();
      expect(text).to.include('qwen_http_requests_total{route="/api/v1/*",code="503"} 1');
      expect(text).to.include('qwen_http_requests_total{route="/api/v1/*",code="401"} 1');
    } finally {
      await app.close();
    }
  });
});
