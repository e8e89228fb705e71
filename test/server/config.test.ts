import { expect } from 'chai';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadConfig } from '../../src/server/config.js';
import type { Config } from '../../src/server/config.js';

const load = (argv: string[], env: NodeJS.ProcessEnv = {}): Config => loadConfig(argv, env) as Config;

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const c = load([]);
    expect(c).to.deep.include({ port: 8000, host: '127.0.0.1', keyFile: 'api/.api_key', graceMs: 0, logLevel: 'info', watchMode: 'events',
      upstreamTimeoutMs: 600_000, maxBodyBytes: 100 * 1024 * 1024, drainTimeoutMs: 30_000, readyRequiresUpstream: false, workers: 1, development: false });
    expect(c.upstream).to.equal(undefined);
    expect(c.maxKeyAgeMs).to.equal(undefined);
    expect(c.authFailLimit).to.deep.equal({ count: 300, periodMs: 60_000 });
    expect(c.maxGraceMs).to.equal(7 * 86_400_000);
  });

  it('takes --max-grace / QWEN_MAX_GRACE, and refuses a --grace longer than it', () => {
    expect(load(['--max-grace', '1d']).maxGraceMs).to.equal(86_400_000);
    expect(load([], { QWEN_MAX_GRACE: '30d', QWEN_KEY_GRACE: '10d' }).graceMs).to.equal(10 * 86_400_000);
    expect(() => loadConfig(['--grace', '8d'], {})).to.throw(ConfigError, /--grace \/ QWEN_KEY_GRACE: 8d is longer than --max-grace \(7d\)/);
  });

  it('has the documented connection limits and timeouts', () => {
    expect(load([])).to.deep.include({ maxConnections: 1024, maxConnectionsPerIp: 64, headerTimeoutMs: 10_000, writeTimeoutMs: 60_000 });
  });

  it('reads the connection limits and timeouts from flags and env; off lifts the per-address cap', () => {
    expect(load(['--max-connections', '50'], { QWEN_MAX_CONNECTIONS: '60' }).maxConnections).to.equal(50);
    expect(load([], { QWEN_MAX_CONNECTIONS: '60' }).maxConnections).to.equal(60);
    expect(load([], { QWEN_MAX_CONNECTIONS_PER_IP: '8' }).maxConnectionsPerIp).to.equal(8);
    expect(load(['--max-connections-per-ip', 'off']).maxConnectionsPerIp).to.equal(undefined);
    expect(load([], { QWEN_HEADER_TIMEOUT: '3s' }).headerTimeoutMs).to.equal(3000);
    expect(load(['--write-timeout', '2m']).writeTimeoutMs).to.equal(120_000);
  });

  it('rejects connection limits that are not whole numbers from 1, and timeouts of 0', () => {
    for (const argv of [['--max-connections', '0'], ['--max-connections', '1.5'], ['--max-connections', '-3'], ['--max-connections-per-ip', 'none'],
      ['--max-connections', '2000000'], ['--header-timeout', '0'], ['--write-timeout', '0'], ['--header-timeout', '10']]) {
      expect(() => loadConfig(argv, {}), argv.join(' ')).to.throw(ConfigError);
    }
    expect(() => loadConfig(['--max-connections-per-ip', 'x'], {})).to.throw(/--max-connections-per-ip \/ QWEN_MAX_CONNECTIONS_PER_IP/);
  });

  it('names a mistyped option as typed, with the option it is closest to', () => {
    expect(() => loadConfig(['--prot', '9000'], {})).to.throw(ConfigError, /^unknown option --prot; did you mean --port\? \(see --help\)$/);
    expect(() => loadConfig(['-port', '9000'], {})).to.throw(ConfigError, /^unknown option -port; did you mean --port\? \(see --help\)$/);
  });

  it('takes flags over env over defaults', () => {
    expect(load([], { PORT: '9000' }).port).to.equal(9000);
    expect(load(['--port', '9001'], { PORT: '9000' }).port).to.equal(9001);
    expect(load(['--grace=10m'], { QWEN_KEY_GRACE: '1h' }).graceMs).to.equal(600_000);
    expect(load([], { QWEN_READY_REQUIRES_UPSTREAM: 'true' }).readyRequiresUpstream).to.equal(true);
    expect(load(['--ready-requires-upstream']).readyRequiresUpstream).to.equal(true);
    expect(load([], { QWEN_MAX_BODY: '512k' }).maxBodyBytes).to.equal(512 * 1024);
    expect(load(['--workers', 'auto']).workers).to.equal(availableParallelism());
    expect(load([], { QWEN_WORKERS: '3' }).workers).to.equal(3);
    expect(load(['--max-key-age', '90d']).maxKeyAgeMs).to.equal(90 * 86_400_000);
    expect(load([], { NODE_ENV: 'development', QWEN_API_KEY: 'k' })).to.deep.include({ development: true, apiKey: 'k' });
    expect(load(['--auth-fail-limit', 'off']).authFailLimit).to.equal(undefined);
  });

  it('answers help', () => {
    expect(loadConfig(['--help'], {})).to.equal('help');
  });

  it('rejects bad values with a ConfigError naming the flag and variable', () => {
    for (const [argv, env] of [[['--port', '70000'], {}], [[], { PORT: '-1' }], [['--nope'], {}], [['positional'], {}],
      [['--grace', '5'], {}], [['--upstream', 'not a url'], {}], [['--max-body', '0'], {}], [['--upstream-timeout', '0'], {}],
      [[], { QWEN_READY_REQUIRES_UPSTREAM: 'maybe' }], [['--auth-fail-limit', '0/1m'], {}], [['--host', ' '], {}]] as const) {
      expect(() => loadConfig([...argv], env), argv.join(' ') + JSON.stringify(env)).to.throw(ConfigError);
    }
    expect(() => loadConfig(['--port', 'x'], {})).to.throw(/--port \/ PORT/);
  });

  it('puts the clients file beside the key file unless --clients-file / QWEN_API_CLIENTS_FILE say otherwise', () => {
    expect(load([]).clientsFile).to.equal(join('api', '.api_clients'));
    expect(load(['--key-file', '/srv/k/.api_key']).clientsFile).to.equal(join('/srv/k', '.api_clients'));
    expect(load([], { QWEN_API_CLIENTS_FILE: '/etc/c' }).clientsFile).to.equal('/etc/c');
    expect(load(['--clients-file', '/x/c'], { QWEN_API_CLIENTS_FILE: '/etc/c' }).clientsFile).to.equal('/x/c');
    expect(() => loadConfig(['--clients-file', ' '], {})).to.throw(ConfigError, /--clients-file \/ QWEN_API_CLIENTS_FILE/);
  });

  it('names the client to the upstream in X-Api-Client unless --client-header / QWEN_CLIENT_HEADER say otherwise', () => {
    expect(load([]).clientHeader).to.equal('X-Api-Client');
    expect(load([], { QWEN_CLIENT_HEADER: 'X-Consumer' }).clientHeader).to.equal('X-Consumer');
    for (const bad of ['X Consumer', 'X-Api-Key', 'authorization', 'Host', 'X-Forwarded-For', 'Cookie', 'Content-Type', 'x:y']) {
      expect(() => loadConfig(['--client-header', bad], {}), bad).to.throw(ConfigError, /--client-header \/ QWEN_CLIENT_HEADER/);
    }
  });

  it('refuses as --client-header a header the server owns spelt with `_` for `-`, which CGI backends read as the same', () => {
    for (const bad of ['X_Forwarded_For', 'x_api_key', 'X-Request_Id']) {
      expect(() => loadConfig(['--client-header', bad], {}), bad).to.throw(ConfigError, /sets or strips itself/);
    }
  });

  it('serves plain HTTP unless both --tls-cert and --tls-key are set, by flag or env', () => {
    expect(load([]).tls).to.equal(undefined);
    expect(load(['--tls-cert', 'c.pem', '--tls-key', 'k.pem']).tls).to.deep.equal({ cert: 'c.pem', key: 'k.pem' });
    expect(load([], { QWEN_TLS_CERT: 'c.pem', QWEN_TLS_KEY: 'k.pem', QWEN_TLS_CA: 'ca.pem' }).tls).to.deep.equal({ cert: 'c.pem', key: 'k.pem', ca: 'ca.pem' });
    expect(load(['--tls-cert', 'flag.pem'], { QWEN_TLS_CERT: 'env.pem', QWEN_TLS_KEY: 'k.pem' }).tls?.cert).to.equal('flag.pem');
  });

  it('refuses one of --tls-cert and --tls-key without the other, and --tls-ca without both', () => {
    expect(() => loadConfig(['--tls-cert', 'c.pem'], {})).to.throw(ConfigError, /^--tls-cert and --tls-key go together \(only --tls-cert/);
    expect(() => loadConfig([], { QWEN_TLS_KEY: 'k.pem' })).to.throw(ConfigError, /only --tls-key \/ QWEN_TLS_KEY is set/);
    expect(() => loadConfig(['--tls-ca', 'ca.pem'], {})).to.throw(ConfigError, /^--tls-ca \/ QWEN_TLS_CA needs --tls-cert and --tls-key/);
  });
});
