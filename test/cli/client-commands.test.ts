import { expect } from 'chai';
import { chmod, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../../src/cli/commands.js';
import type { CliIo } from '../../src/cli/commands.js';
import { digestOf, fingerprint } from '../../src/core/key.js';
import { tempDir } from '../core/helpers.js';

const NOW = new Date(2026, 10, 29, 10, 0, 0);
const DAY = 86_400_000;

async function cli(cwd: string, argv: string[], extra: Partial<CliIo> = {}) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), env: {}, cwd, clock: () => NOW, ...extra });
  return { code, stdout, stderr };
}

describe('cli: named keys', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    await mkdir(join(dir, 'api'));
  });
  afterEach(() => cleanup());

  it('refuses add, remove and rotate NAME with the default key file where there is no api/ directory, creating nothing', async () => {
    await rm(join(dir, 'api'), { recursive: true });
    for (const args of [['add', 'alice'], ['remove', 'alice'], ['rotate', 'alice']]) {
      const r = await cli(dir, args);
      expect(r.code, args.join(' ')).to.equal(1);
      expect(r.stderr).to.equal(`manage-key: there is no api/ directory in ${dir}, so this is not where a server keeps its key (normally the repository root); `
        + `run ${args[0]} there, or name the key file with --key-file FILE (or QWEN_API_KEY_FILE), whose directory is then created\n`);
    }
    expect(await readdir(dir)).to.deep.equal([]);
    expect((await cli(dir, ['add', 'alice', '--key-file', 'elsewhere/.api_key'])).code, 'a key file named by the operator').to.equal(0);
  });

  it('add prints the new key alone on stdout, its fingerprint on stderr, and keeps only its digest', async () => {
    const r = await cli(dir, ['add', 'alice', '--expires', '30d']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/^qwk_[A-Za-z0-9_-]{43}\n$/);
    const key = r.stdout.trim();
    expect(r.stderr).to.include(`Added client alice (${fingerprint(key)}), valid until 2026-12-29 10:00:00`);
    expect(r.stderr).to.include('only time the key is shown');
    expect(r.stderr.includes(key)).to.equal(false);
    const file = await readFile(join(dir, 'api', '.api_clients'), 'utf8');
    expect(file.includes(key)).to.equal(false);
    expect(file.includes(digestOf(key))).to.equal(true);
  });

  it('add refuses a name that exists (exit 1, one line)', async () => {
    await cli(dir, ['add', 'alice']);
    const r = await cli(dir, ['add', 'alice']);
    expect(r.code).to.equal(1);
    expect(r.stdout).to.equal('');
    expect(r.stderr).to.match(/^manage-key: a client named alice exists already in .*\.api_clients \(rotate or remove it\)\n$/);
  });

  it('list shows name, fingerprint, creation, expiry and state, never a key; --json for scripts', async () => {
    const alice = (await cli(dir, ['add', 'alice', '--expires', '1d'])).stdout.trim();
    const bob = (await cli(dir, ['add', 'bob'])).stdout.trim();
    const text = (await cli(dir, ['list'])).stdout;
    expect(text.split('\n')[1]).to.match(/^NAME\s+FINGERPRINT\s+CREATED\s+EXPIRES\s+STATE$/);
    expect(text).to.match(new RegExp(`alice\\s+${fingerprint(alice)}\\s+2026-11-29 10:00:00\\s+2026-11-30 10:00:00\\s+active`));
    expect(text).to.match(new RegExp(`bob\\s+${fingerprint(bob)}\\s+2026-11-29 10:00:00\\s+never\\s+active`));
    const json = JSON.parse((await cli(dir, ['list', '--json'])).stdout) as { clients: Array<Record<string, unknown>> };
    expect(json.clients[0]).to.deep.equal({
      name: 'alice', fingerprint: fingerprint(alice), created: NOW.toISOString(), expires: new Date(NOW.getTime() + DAY).toISOString(), expired: false, previous: null,
    });
    for (const output of [text, JSON.stringify(json)]) expect(output.includes(alice) || output.includes(bob)).to.equal(false);
  });

  it('list says expired once a key is past its expiry, and that there are none without a file', async () => {
    expect((await cli(dir, ['list'])).stdout).to.equal(`No named keys in ${join(dir, 'api', '.api_clients')}.\n`);
    await cli(dir, ['add', 'alice', '--expires', '1h']);
    const later = await cli(dir, ['list'], { clock: () => new Date(NOW.getTime() + 2 * 3_600_000) });
    expect(later.stdout).to.match(/alice .* expired\n$/);
  });

  it('remove ends the key and says so on stderr; an unknown name exits 1', async () => {
    await cli(dir, ['add', 'alice']);
    const r = await cli(dir, ['remove', 'alice']);
    expect([r.code, r.stdout]).to.deep.equal([0, '']);
    expect(r.stderr).to.match(/^Removed client alice \(sha256:[0-9a-f]{12}\)/);
    expect((await cli(dir, ['list'])).stdout).to.match(/^No named keys/);
    const again = await cli(dir, ['remove', 'alice']);
    expect(again.code).to.equal(1);
    expect(again.stderr).to.match(/no client named alice/);
  });

  it('rotate NAME prints the new key alone and says what happens to the old one', async () => {
    const old = (await cli(dir, ['add', 'alice'])).stdout.trim();
    const r = await cli(dir, ['rotate', 'alice', '--grace', '1h']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/^qwk_[A-Za-z0-9_-]{43}\n$/);
    expect(r.stderr).to.include(`${fingerprint(old)} -> ${fingerprint(r.stdout.trim())}`);
    expect(r.stderr).to.include('The old key stays valid until 2026-11-29 11:00:00 (--grace 1h).');
    expect((await cli(dir, ['rotate', 'alice', '--revoke'])).stderr).to.include('The old key is revoked');
    expect((await cli(dir, ['rotate', 'alice'])).stderr).to.include('server\'s own grace window');
  });

  it('rotate NAME refuses a --grace longer than --max-grace, as for the static key (exit 2)', async () => {
    await cli(dir, ['add', 'alice']);
    const r = await cli(dir, ['rotate', 'alice', '--grace', '8d']);
    expect(r.code).to.equal(2);
    expect(r.stderr).to.match(/--grace 8d is longer than servers honour/);
  });

  it('rotate without a NAME still rotates the static key, leaving the named keys alone', async () => {
    const staticKey = (await cli(dir, ['generate'])).stdout.trim();
    await cli(dir, ['add', 'alice']);
    const clients = await readFile(join(dir, 'api', '.api_clients'), 'utf8');
    const rotated = await cli(dir, ['rotate']);
    expect(rotated.code).to.equal(0);
    expect(rotated.stderr).to.include(`Rotated the key in ${join(dir, 'api', '.api_key')}: ${fingerprint(staticKey)} ->`);
    expect(await readFile(join(dir, 'api', '.api_clients'), 'utf8')).to.equal(clients);
  });

  it('status counts the named keys and names those expiring within 7 days', async () => {
    await cli(dir, ['generate']);
    const soon = (await cli(dir, ['add', 'soon', '--expires', '2d'])).stdout.trim();
    await cli(dir, ['add', 'later', '--expires', '30d']);
    await cli(dir, ['add', 'gone', '--expires', '1h']);
    const at = new Date(NOW.getTime() + 2 * 3_600_000);
    const text = (await cli(dir, ['status'], { clock: () => at })).stdout;
    expect(text).to.include(`Named keys:   2 active, 1 expired (${join(dir, 'api', '.api_clients')})`);
    expect(text).to.include(`expires within 7 days: soon ${fingerprint(soon)} on 2026-12-01 10:00:00`);
    expect(text).to.not.include('later ');
    const json = JSON.parse((await cli(dir, ['status', '--json'], { clock: () => at })).stdout) as { clients: Record<string, unknown> };
    expect(json.clients).to.deep.include({ active: 2, expired: 1, expiringSoon: [{ name: 'soon', fingerprint: fingerprint(soon), expires: new Date(NOW.getTime() + 2 * DAY).toISOString() }] });
  });

  it('status says when the clients file is unusable, and still reports the static key', async () => {
    await cli(dir, ['generate']);
    await writeFile(join(dir, 'api', '.api_clients'), '{"version":9}');
    const r = await cli(dir, ['status']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.include('Current key:');
    expect(r.stdout).to.match(/Named keys: +.*\.api_clients is unusable \(clients file is unusable: version 9/);
    expect(r.stderr).to.match(/warning: clients file is unusable/);
  });

  it('list, add, remove and rotate NAME name a broken clients file in full, and what to do (exit 1, one line)', async () => {
    await cli(dir, ['generate']);
    const clientsFile = join(dir, 'api', '.api_clients');
    await writeFile(clientsFile, '{"version":1,"clients":[\n');
    for (const args of [['list'], ['add', 'bob'], ['remove', 'bob'], ['rotate', 'bob']]) {
      const r = await cli(dir, args);
      expect(r, args.join(' ')).to.deep.equal({
        code: 1, stdout: '', stderr: `manage-key: the clients file ${clientsFile} is unusable: not JSON; fix it by hand, or remove it to end every `
          + 'named key (running servers keep their last good set of named keys meanwhile)\n',
      });
    }
  });

  it('history shows named-key lines with their fingerprint, and keeps the current key the static one', async () => {
    const staticKey = (await cli(dir, ['generate'])).stdout.trim();
    const alice = (await cli(dir, ['add', 'alice'])).stdout.trim();
    const view = (await cli(dir, ['history'])).stdout;
    expect(view).to.include(`[Client added (alice)] ${fingerprint(alice)}`);
    expect(view).to.match(new RegExp(`CURRENT ACTIVE KEY: ${staticKey.slice(0, 6)}\\.\\.\\.${staticKey.slice(-6)}\\n$`));
    const json = JSON.parse((await cli(dir, ['history', '--json'])).stdout) as { entries: Array<Record<string, unknown>> };
    expect(json.entries[1]).to.deep.include({ action: 'Client added (alice)', key: null, fingerprint: fingerprint(alice), client: 'alice' });
  });

  it('history masks a named-key line whose Key column is not a fingerprint (a key written there by hand)', async () => {
    await cli(dir, ['generate']);
    const key = 'qwk_' + 'h'.repeat(43);
    await writeFile(join(dir, 'api', '.api_key_history'), `2026-11-29 10:00:00 | Client added (x) | ${key}\n`, { flag: 'a' });
    const view = (await cli(dir, ['history'])).stdout;
    expect(view.includes(key)).to.equal(false);
    expect(view).to.include('[Client added (x)] qwk_hh...hhhhhh');
  });

  it('uses QWEN_API_CLIENTS_FILE, and --clients-file over it', async () => {
    await cli(dir, ['add', 'a'], { env: { QWEN_API_CLIENTS_FILE: 'env-clients' } });
    await cli(dir, ['add', 'b', '--clients-file', 'flag-clients'], { env: { QWEN_API_CLIENTS_FILE: 'env-clients' } });
    expect(await readFile(join(dir, 'env-clients'), 'utf8')).to.include('"name":"a"');
    expect(await readFile(join(dir, 'flag-clients'), 'utf8')).to.include('"name":"b"');
  });

  it('readers warn when others can write the clients file', async function () {
    if (process.platform === 'win32') this.skip();
    await cli(dir, ['add', 'a']);
    await chmod(join(dir, 'api', '.api_clients'), 0o666);
    expect((await cli(dir, ['list'])).stderr).to.match(/warning: clients file .*\.api_clients is writable by its group and everyone/);
  });
});
