import { expect } from 'chai';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, readFile, readdir, stat, symlink, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { HISTORY_LINE, PRINTED_KEY, REPO, WRAPPER, history, requireBuild, runCli, workDir } from './processes.js';

const SPELLINGS = {
  generate: ['generate', '-Generate', '-generate', '-GENERATE', '--generate'],
  show: ['show', '-Show', '-show', '-SHOW', '--show'],
  rotate: ['rotate', '-Rotate', '-rotate', '-ROTATE', '--rotate'],
  history: ['history', '-History', '-history', '-HISTORY', '--history'],
  status: ['status', '-Status', '-status', '-STATUS', '--status'],
  test: ['test', '-Test', '-test', '-TEST', '--test'],
};

describe('manage-key (processes)', function () {
  this.timeout(30_000);
  let dir: string;
  let cleanup: () => Promise<void>;
  let keyFile: string;
  before(requireBuild);
  beforeEach(async () => {
    ({ dir, cleanup } = await workDir('manage-key-'));
    keyFile = join(dir, 'api', '.api_key');
  });
  afterEach(() => cleanup());

  const readKey = async () => (await readFile(keyFile, 'utf8')).trim();

  for (const via of ['node', 'wrapper'] as const) {
    it(`runs every command in every spelling (${via === 'node' ? 'node dist/cli.js' : 'scripts/manage-key'})`, async () => {
      const run = (args: string[]) => runCli(args, { cwd: dir, via });
      const spell = (i: number) => Object.fromEntries(Object.entries(SPELLINGS).map(([k, v]) => [k, v[i % v.length]!]));
      for (let i = 0; i < 5; i++) {
        const s = spell(i);
        const generated = await run([s.generate!, ...(i > 0 ? ['--force'] : [])]);
        expect(generated.code, `${s.generate}: ${generated.stderr}`).to.equal(0);
        expect(PRINTED_KEY.test(generated.stdout)).to.equal(true);
        const shown = await run([s.show!]);
        expect(shown.code).to.equal(0);
        expect(shown.stdout === generated.stdout).to.equal(true);
        const rotated = await run([s.rotate!]);
        expect(rotated.code, `${s.rotate}: ${rotated.stderr}`).to.equal(0);
        expect(PRINTED_KEY.test(rotated.stdout)).to.equal(true);
        expect(rotated.stdout === generated.stdout).to.equal(false);
        expect(rotated.stdout === (await readKey()) + '\n').to.equal(true);
        const viewed = await run([s.history!]);
        expect(viewed.code).to.equal(0);
        expect(viewed.stdout).to.include('API Key History:');
        const status = await run([s.status!]);
        expect(status.code).to.equal(0);
        expect(status.stdout).to.include('Current key:');
        const tested = await run([s.test!, '--url', 'http://127.0.0.1:9']);
        expect(tested.code).to.equal(1);
        expect(tested.stderr).to.match(/^manage-key: cannot reach the server at http:\/\/127\.0\.0\.1:9\/ .*\n$/);
      }
      expect((await run([])).stdout === (await readKey()) + '\n').to.equal(true);
    });
  }

  it('show prints exactly the key and a newline, so KEY=$(manage-key show) works', async () => {
    await runCli(['generate'], { cwd: dir });
    const shown = await runCli(['show'], { cwd: dir });
    expect(shown.stdout === (await readKey()) + '\n').to.equal(true);
    expect(shown.stderr).to.equal('');
  });

  it('exits 2 with one line on stderr for usage errors', async () => {
    for (const args of [['bogus'], ['--bogus'], ['show', 'rotate'], ['rotate', '--grace', 'soon'], ['show', '--force'], ['rotate', '--grace', '1m', '--revoke']]) {
      const r = await runCli(args, { cwd: dir });
      expect(r.code, args.join(' ')).to.equal(2);
      expect(r.stderr).to.match(/^manage-key: [^\n]+\n$/);
      expect(r.stdout).to.equal('');
    }
  });

  it('exits 1 with one line on stderr for failures, changing nothing', async () => {
    for (const args of [['show'], ['rotate'], ['status'], ['test']]) {
      const r = await runCli(args, { cwd: dir });
      expect(r.code, args.join(' ')).to.equal(1);
      expect(r.stderr).to.match(/^manage-key: [^\n]*manage-key generate[^\n]*\n$/);
    }
    await runCli(['generate'], { cwd: dir });
    const before = await readKey();
    const again = await runCli(['generate'], { cwd: dir });
    expect(again.code).to.equal(1);
    expect(again.stderr).to.match(/^manage-key: a key already exists[^\n]*\n$/);
    expect((await readKey()) === before).to.equal(true);
  });

  it('--help explains every command and exits 0', async () => {
    const r = await runCli(['--help'], { cwd: dir });
    expect(r.code).to.equal(0);
    for (const word of ['generate', 'show', 'rotate', 'history', 'status', 'test', '--grace', '--revoke', '--key-file', '-KeyFile', 'Exit status']) {
      expect(r.stdout).to.include(word);
    }
  });

  it('creates key and history with mode 0600 even under umask 000', async () => {
    const done = spawnSync('sh', ['-c', `umask 000 && "${WRAPPER}" generate && "${WRAPPER}" rotate`], { cwd: dir, env: { PATH: process.env.PATH } });
    expect(done.status).to.equal(0);
    expect((await stat(keyFile)).mode & 0o777).to.equal(0o600);
    expect((await stat(`${keyFile}_history`)).mode & 0o777).to.equal(0o600);
  });

  it('writes the exact history format, with the extra lines for --grace and --revoke', async () => {
    const first = (await runCli(['generate'], { cwd: dir })).stdout.trim();
    const second = (await runCli(['rotate', '--grace', '10m'], { cwd: dir })).stdout.trim();
    const third = (await runCli(['-Rotate', '-Revoke'], { cwd: dir })).stdout.trim();
    const { text, entries, malformed } = await history(keyFile);
    expect(malformed).to.equal(0);
    expect(text.endsWith('\n')).to.equal(true);
    const lines = text.trimEnd().split('\n');
    for (const line of lines) expect(HISTORY_LINE.test(line), 'history line format').to.equal(true);
    expect(entries.map((e) => e.action.replace(/ \d{4}-.*$/, ''))).to.deep.equal([
      'Generated', 'Rotated (replaced)', 'Rotated (new)', 'Grace until', 'Rotated (replaced)', 'Rotated (new)', 'Revoked',
    ]);
    const keys = entries.map((e) => e.key);
    expect([keys[0], keys[1], keys[3], keys[2], keys[4], keys[6], keys[5]].map((k) => [first, second, third].indexOf(k!)))
      .to.deep.equal([0, 0, 0, 1, 1, 1, 2]);
    const windowEnd = new Date(entries[3]!.action.slice('Grace until '.length)).getTime();
    expect(windowEnd - entries[2]!.time.getTime()).to.be.within(600_000, 601_000);
    expect(entries[1]!.time.getTime()).to.equal(entries[2]!.time.getTime());
  });

  it('shows the masked history view, never a full key', async () => {
    const keys = [(await runCli(['generate'], { cwd: dir })).stdout.trim()];
    for (let i = 0; i < 2; i++) keys.push((await runCli(['rotate'], { cwd: dir })).stdout.trim());
    for (const args of [['history'], ['history', '--json'], ['status'], ['status', '--json']]) {
      const r = await runCli(args, { cwd: dir });
      expect(keys.some((k) => r.stdout.includes(k) || r.stderr.includes(k)), `${args.join(' ')} shows a full key`).to.equal(false);
    }
    const lines = (await runCli(['history'], { cwd: dir })).stdout.trimEnd().split('\n');
    const mask = (k: string) => `${k.slice(0, 6)}...${k.slice(-6)}`;
    expect(lines[0]).to.equal('API Key History:');
    expect(lines[1]).to.equal('='.repeat(100));
    expect(lines[2]).to.equal('');
    expect(lines.slice(3, 8).every((l) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[[^\]]+\] \S{6}\.\.\.\S{6}$/.test(l))).to.equal(true);
    expect(lines[3]!.endsWith(`[Generated] ${mask(keys[0]!)}`)).to.equal(true);
    expect(lines[8]).to.equal('');
    expect(lines[9]).to.equal('='.repeat(100));
    expect(lines[10]).to.equal(`CURRENT ACTIVE KEY: ${mask(keys[2]!)}`);
    expect(lines).to.have.length(11);
  });

  for (const args of [['help'], ['-h'], ['--help'], ['-Help']]) {
    it(`prints the help for "${args.join(' ')}" on stdout and exits 0`, async () => {
      const r = await runCli(args, { cwd: dir, via: 'wrapper' });
      expect(r.code).to.equal(0);
      expect(r.stdout).to.match(/^manage-key: create, show, rotate and check/);
      expect(r.stderr).to.equal('');
    });
  }

  it('prints its version for --version and exits 0', async () => {
    const { version } = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await runCli(['--version'], { cwd: dir, via: 'wrapper' });
    expect(r.code).to.equal(0);
    expect(r.stdout).to.equal(`manage-key (qwen-key-daemon) ${version}\n`);
  });

  it('prints the old tool\'s documented history example exactly, blank lines included', async () => {
    // The example of the PowerShell tool's documentation, line for line.
    const documented = [
      'API Key History:',
      '='.repeat(100),
      '',
      '2025-10-06 14:23:15 [Generated] abc123...xyz789',
      '2025-10-06 16:45:30 [Rotated (replaced)] abc123...xyz789',
      '2025-10-06 16:45:30 [Rotated (new)] def456...uvw012',
      '',
      '='.repeat(100),
      'CURRENT ACTIVE KEY: def456...uvw012',
      '',
    ].join('\n');
    const [first, second] = ['abc123-first-example-key-xyz789', 'def456-second-example-key-uvw012'];
    await writeFile(keyFile, `${second}\n`, { mode: 0o600 });
    await writeFile(`${keyFile}_history`, `2025-10-06 14:23:15 | Generated | ${first}\n2025-10-06 16:45:30 | Rotated (replaced) | ${first}\n`
      + `2025-10-06 16:45:30 | Rotated (new) | ${second}\n`, { mode: 0o600 });
    const r = await runCli(['-History'], { cwd: dir });
    expect(r.code).to.equal(0);
    expect(r.stderr).to.equal('');
    expect(r.stdout).to.equal(documented);
  });

  it('after a hand edit of the key file, CURRENT ACTIVE KEY is still the history\'s, and a note names the file\'s key', async () => {
    const generated = (await runCli(['generate'], { cwd: dir })).stdout.trim();
    const hand = 'hand-edited-key-0123456789-abcdef';
    await writeFile(keyFile, `${hand}\n`);
    const r = await runCli(['history'], { cwd: dir });
    expect(r.code).to.equal(0);
    expect(r.stdout.endsWith(`CURRENT ACTIVE KEY: ${generated.slice(0, 6)}...${generated.slice(-6)}\n`)).to.equal(true);
    expect(r.stdout.includes(hand.slice(0, 6))).to.equal(false);
    expect(r.stderr).to.match(/^manage-key: note: \S+ holds a key the history does not name as current \(sha256:[0-9a-f]{12}\)[^\n]*\n$/);
    expect(r.stderr.includes(hand)).to.equal(false);
  });

  it('status tells which keys are valid and until when, and how old the current key is', async () => {
    await runCli(['generate'], { cwd: dir });
    await runCli(['rotate', '--grace', '1h'], { cwd: dir });
    const r = await runCli(['status'], { cwd: dir });
    expect(r.stdout).to.match(/Current key: {2}sha256:[0-9a-f]{12}, valid now; in force since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\d+s old\)/);
    expect(r.stdout).to.match(/Previous key: sha256:[0-9a-f]{12}, valid until .* \(59m \d+s left\)/);
    await runCli(['rotate'], { cwd: dir });
    const assumed = await runCli(['status'], { cwd: dir, env: { QWEN_KEY_GRACE: '24h' } });
    expect(assumed.stdout).to.include('assuming the server\'s default grace of 1d');
    expect(assumed.stdout).to.match(/Previous key: .*valid until/);
    const json = JSON.parse((await runCli(['status', '--json', '--grace', '0'], { cwd: dir })).stdout);
    expect(json.previous).to.include({ valid: false, window: 'server-default' });
  });

  it('test asks a running server with the current key and, with --previous inside a window, the previous one', async () => {
    await runCli(['generate'], { cwd: dir });
    const accepted = new Set<string>();
    const seen: string[] = [];
    const server = createServer((req, res) => {
      const key = String(req.headers['x-api-key'] ?? '');
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(accepted.has(key) ? 200 : 401, { 'content-type': 'application/json' });
      res.end(accepted.has(key) ? '{"status":"ok"}' : '{"detail":"Invalid or missing API key"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const first = await readKey();
      accepted.add(first);
      const ok = await runCli(['test', '--url', url], { cwd: dir });
      expect(ok.code, ok.stderr).to.equal(0);
      expect(seen).to.deep.equal(['GET /api/v1/health']);
      expect(ok.stdout.includes(first)).to.equal(false);
      await runCli(['rotate', '--grace', '10m'], { cwd: dir });
      const stale = await runCli(['-Test', '-Url', url], { cwd: dir });
      expect(stale.code).to.equal(1);
      expect(stale.stderr).to.match(/^manage-key: the server at .* does not answer as the key files say: current key rejected\n$/);
      accepted.add(await readKey());
      const both = await runCli(['test', '--previous', '--url', url], { cwd: dir });
      expect(both.code, both.stdout).to.equal(0);
      expect(both.stdout).to.match(/ok {3}previous key \(valid until/);
      accepted.delete(first);
      expect((await runCli(['test', '--previous', '--url', url], { cwd: dir })).code).to.equal(1);
    } finally {
      server.close();
    }
  });

  it('works through a symlink to scripts/manage-key, run from a directory that is neither the checkout nor the key\'s', async () => {
    const link = join(dir, 'bin', 'manage-key');
    const elsewhere = join(dir, 'elsewhere');
    await mkdir(join(dir, 'bin'));
    await mkdir(elsewhere);
    await symlink(WRAPPER, link);
    const r = await runCli(['generate'], { cwd: dir });
    expect(r.code).to.equal(0);
    const viaLink = spawnSync(link, ['show', '--key-file', join(dir, 'api', '.api_key')], { cwd: elsewhere, env: { PATH: process.env.PATH }, encoding: 'utf8' });
    expect(viaLink.status, viaLink.stderr).to.equal(0);
    expect(viaLink.stdout === r.stdout).to.equal(true);
  });

  // Regression: `-Rotat` was reported as `unknown option -R`.
  it('names a mistyped PowerShell spelling whole, with the spelling it is closest to (exit 2)', async () => {
    const done = await runCli(['-Rotat'], { cwd: dir, via: 'wrapper' });
    expect([done.code, done.stdout, done.stderr]).to.deep.equal([2, '', 'manage-key: unknown option -Rotat; did you mean -Rotate? (see manage-key --help)\n']);
  });

  it('lets the PowerShell wrapper pass -Ca, -Cert and -CertKey through to test (api/manage-key.ps1)', async () => {
    const ps1 = await readFile(join(REPO, 'api', 'manage-key.ps1'), 'utf8');
    for (const [parameter, flag] of [['Url', '--url'], ['Ca', '--ca'], ['Cert', '--cert'], ['CertKey', '--cert-key']]) {
      expect(ps1, parameter).to.include(`[string]$${parameter},`);
      expect(ps1, parameter).to.match(new RegExp(`ContainsKey\\('${parameter}'\\)\\) \\{\\s*\\$cliArgs \\+= '${flag}', `));
    }
  });

  it('leaves only the key file and its history in the key directory', async () => {
    await runCli(['generate'], { cwd: dir });
    await runCli(['rotate'], { cwd: dir });
    expect((await readdir(join(dir, 'api'))).sort()).to.deep.equal(['.api_key', '.api_key_history']);
  });
});
