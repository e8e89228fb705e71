import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { digestOf, fingerprint } from '../../src/core/key.js';
import { tempDir } from '../core/helpers.js';
import { PRINTED_KEY, REPO, WRAPPER, history, requireBuild, runCli, startCli } from './processes.js';

// The named-key commands as users run them: node dist/cli.js and scripts/manage-key as processes.
describe('manage-key named keys (processes)', function () {
  this.timeout(30_000);
  let dir: string;
  let cleanup: () => Promise<void>;
  let clientsFile: string;
  before(requireBuild);
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('manage-key-clients-'));
    await mkdir(join(dir, 'api'));
    clientsFile = join(dir, 'api', '.api_clients');
  });
  afterEach(() => cleanup());
  const run = (args: string[], via: 'node' | 'wrapper' = 'node') => runCli(args, { cwd: dir, via });

  it('KEY=$(manage-key add NAME) captures the key alone, the notes going to the terminal', () => {
    const done = spawnSync('sh', ['-c', 'KEY=$("$1" add alice 2>notes) && printf %s "$KEY" | wc -c && cat notes >&2', 'sh', WRAPPER],
      { cwd: dir, env: { PATH: process.env.PATH }, encoding: 'utf8' });
    expect(done.status).to.equal(0);
    expect(done.stdout.trim()).to.equal('47');
    expect(done.stderr).to.match(/^Added client alice \(sha256:[0-9a-f]{12}\)/);
  });

  it('keeps the clients file and the history 0600 even under umask 000, and never writes a key into either', async function () {
    if (process.platform === 'win32') this.skip();
    const script = 'umask 000 && "$1" generate >/dev/null && A=$("$1" add alice) && B=$("$1" rotate alice --grace 1h) && "$1" add bob >/dev/null && "$1" remove bob && printf "%s\\n%s\\n" "$A" "$B"';
    const done = spawnSync('sh', ['-c', script, 'sh', WRAPPER], { cwd: dir, env: { PATH: process.env.PATH }, encoding: 'utf8' });
    expect(done.status, done.stderr).to.equal(0);
    const [first, second] = done.stdout.trim().split('\n') as [string, string];
    for (const path of [clientsFile, join(dir, 'api', '.api_key_history')]) {
      expect((await stat(path)).mode & 0o777, path).to.equal(0o600);
      const text = await readFile(path, 'utf8');
      expect(text.includes(first) || text.includes(second), `a named key in ${path}`).to.equal(false);
    }
    const clients = await readFile(clientsFile, 'utf8');
    expect(clients.includes(digestOf(second)) && clients.includes(digestOf(first))).to.equal(true);
    expect((await readdir(join(dir, 'api'))).filter((name) => name.endsWith('.tmp'))).to.deep.equal([]);
  });

  it('logs every change in the documented line format, naming the client and a fingerprint', async () => {
    await run(['generate']);
    const alice = (await run(['add', 'alice', '--expires', '30d'])).stdout.trim();
    const rotated = (await run(['rotate', 'alice', '--revoke'])).stdout.trim();
    await run(['remove', 'alice']);
    const { text, entries } = await history(join(dir, 'api', '.api_key'));
    for (const line of text.trim().split('\n')) expect(line).to.match(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| .+ \| \S+$/);
    expect(entries.slice(1).map((e) => [e.action.replace(/ \d{4}-\S+Z/, ' T'), e.key])).to.deep.equal([
      ['Client added (alice, expires T)', fingerprint(alice)],
      ['Client replaced (alice, revoked)', fingerprint(alice)],
      ['Client rotated (alice)', fingerprint(rotated)],
      ['Client removed (alice)', fingerprint(rotated)],
    ]);
  });

  it('understands the PowerShell spellings -Add NAME, -List, -Rotate NAME, -Remove NAME (scripts/manage-key)', async () => {
    const added = await run(['-Add', 'alice', '-Expires', '1d'], 'wrapper');
    expect(added.code, added.stderr).to.equal(0);
    expect(PRINTED_KEY.test(added.stdout)).to.equal(true);
    expect((await run(['-LIST'], 'wrapper')).stdout).to.match(/alice\s+sha256:/);
    const rotated = await run(['-Rotate', 'alice', '-Grace:10m'], 'wrapper');
    expect(PRINTED_KEY.test(rotated.stdout), rotated.stderr).to.equal(true);
    expect((await run(['-remove', 'alice'], 'wrapper')).code).to.equal(0);
    expect((await run(['-List'], 'wrapper')).stdout).to.match(/^No named keys/);
  });

  it('exits 2 with one line for a bad or reserved name, and changes nothing', async () => {
    for (const args of [['add', 'Bad Name'], ['add', 'default'], ['add'], ['remove', '../x']]) {
      const done = await run(args);
      expect(done.code, args.join(' ')).to.equal(2);
      expect(done.stderr.trim().split('\n')).to.have.length(1);
    }
    expect(await readdir(join(dir, 'api'))).to.deep.equal([]);
  });

  it('loses no client and interleaves no history line when eight processes add at once', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `p${i}`);
    const done = await Promise.all(names.map((name) => startCli(['add', name], { cwd: dir }).done));
    expect(done.map((d) => d.code)).to.deep.equal(names.map(() => 0));
    const listed = JSON.parse((await run(['list', '--json'])).stdout) as { clients: Array<{ name: string; fingerprint: string }> };
    expect(listed.clients.map((c) => c.name).sort()).to.deep.equal(names);
    const printed = new Set(done.map((d) => fingerprint(d.stdout.trim())));
    expect(listed.clients.every((c) => printed.has(c.fingerprint))).to.equal(true);
    expect((await history(join(dir, 'api', '.api_key'))).entries).to.have.length(8);
  });

  it('is git-ignored, with its temporary files, as the key files are', function () {
    const check = (path: string) => spawnSync('git', ['check-ignore', '-q', path], { cwd: REPO }).status;
    if (check('api/.api_key') === null) this.skip();
    for (const path of ['api/.api_key', 'api/.api_clients', 'api/.api_clients.0123456789abcdef.tmp', 'elsewhere/.api_clients']) {
      expect(check(path), path).to.equal(0);
    }
  });

  it('git-ignores tls/ at the repository root, where docs/tls.md has the CA and server keys made', function () {
    const check = (path: string) => spawnSync('git', ['check-ignore', '-q', path], { cwd: REPO }).status;
    if (check('api/.api_key') === null) this.skip();
    for (const path of ['tls/ca.key', 'tls/server.key', 'tls/client.key', 'tls/ca.crt']) expect(check(path), path).to.equal(0);
    expect(check('src/server/tls/listener.ts'), 'the source folder named tls').to.equal(1);
  });

  it('lets the PowerShell wrapper pass -Add, -List, -Remove and -Rotate NAME through (api/manage-key.ps1)', async () => {
    const ps1 = await readFile(join(REPO, 'api', 'manage-key.ps1'), 'utf8');
    for (const parameter of ['[switch]$Add', '[switch]$List', '[switch]$Remove', '[string]$Name', '[string]$Expires', '[string]$ClientsFile']) {
      expect(ps1).to.include(parameter);
    }
    expect(ps1).to.include("'Generate', 'Show', 'Rotate', 'History', 'Status', 'Test', 'Add', 'List', 'Remove'");
    expect(ps1).to.include('[Parameter(Position = 0)]');
  });
});
