import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clientAction } from '../../src/core/client-history.js';
import { appendHistory } from '../../src/core/history-file.js';
import { tempDir } from '../helpers/server-process.js';
import type { ServerProcess } from '../helpers/server-process.js';
import { acceptedWithin, accepts, activeKeyOf, health, historyLines, manageKey, startServer } from './harness.js';

const hasCurl = spawnSync('sh', ['-c', 'command -v curl'], { stdio: 'ignore' }).status === 0;
const RULE = '='.repeat(100);
const mask = (key: string) => `${key.slice(0, 6)}...${key.slice(-6)}`;

/** `curl -s -o body -w %{http_code} -H HEADER URL`: the status and body, as a shell user sees them. */
function curl(url: string, header?: string): { status: string; body: string } {
  const args = ['-s', '-w', '\n%{http_code}', ...(header ? ['-H', header] : []), url];
  const out = spawnSync('curl', args, { encoding: 'utf8' }).stdout;
  const cut = out.lastIndexOf('\n');
  return { body: out.slice(0, cut), status: out.slice(cut + 1) };
}

// The static key's workflow as it was before named keys, run with named keys beside it and thousands of
// their lines in the history: the PowerShell spellings, the documented history view, the window of a
// rotation (also across a restart), and curl with the key.
describe('integration: the old workflow with named keys beside it', function () {
  this.timeout(60_000);
  let dir: string;
  let keyFile: string;
  let cleanup: () => Promise<void>;
  let generated: string;
  let server: ServerProcess;
  const stopped: ServerProcess[] = [];

  const ps = async (args: string[]) => {
    const done = await manageKey(args, dir);
    expect(done.code, `${args.join(' ')}: ${done.stderr}`).to.equal(0);
    return done;
  };

  before(async () => {
    ({ dir, cleanup } = await tempDir());
    await mkdir(join(dir, 'api'));
    keyFile = join(dir, 'api', '.api_key');
    generated = (await ps(['-Generate'])).stdout;
    await ps(['-Add', 'alice']);
    // Thousands of named-key changes since: the static key's chain lies far beyond the history's last 64 KiB.
    const time = new Date();
    await appendHistory(`${keyFile}_history`, Array.from({ length: 3000 }, (_, i) => ({
      time, action: clientAction('added', `bulk${i}`), key: `sha256:${String(i).padStart(12, '0')}`,
    })));
    server = await startServer(keyFile);
  });
  after(async () => {
    for (const s of [...stopped, server]) await s?.stop();
    await cleanup?.();
  });

  it('-Generate printed the key alone, and -Show prints the key in force alone', async () => {
    expect(generated).to.match(/^qwk_[A-Za-z0-9_-]{43}\n$/);
    expect((await ps(['-Show'])).stdout).to.equal(`${(await readFile(keyFile, 'utf8')).trim()}\n`);
  });

  it('-Rotate -Grace, -History and -Status behave as documented, the window surviving a restart', async () => {
    const first = (await ps(['-Show'])).stdout.trim();
    const rotated = await ps(['-Rotate', '-Grace', '1h']);
    const second = rotated.stdout.trim();
    expect(rotated.stdout).to.equal(`${second}\n`);
    expect(rotated.stderr).to.include('The old key stays valid until');
    await acceptedWithin(server, second);
    expect(await accepts(server, first), 'the old key inside the window the rotation set').to.equal(true);
    expect((await health(server, second)).previousKey?.active).to.equal(true);

    const lines = await historyLines(keyFile);
    expect(activeKeyOf(lines)?.key === second, 'the latest Generated or Rotated (new) is the key in force').to.equal(true);
    const view = (await ps(['-History'])).stdout.split('\n');
    expect(view.slice(0, 3)).to.deep.equal(['API Key History:', RULE, '']);
    expect(view[3]!.endsWith(` [Generated] ${mask(generated.trim())}`)).to.equal(true);
    expect(view.slice(-4)).to.deep.equal(['', RULE, `CURRENT ACTIVE KEY: ${mask(second)}`, '']);
    expect(view.filter((l) => l.endsWith(` [Rotated (new)] ${mask(second)}`))).to.have.length(1);

    const status = (await ps(['-Status'])).stdout;
    expect(status).to.not.include('Warning');
    expect(status).to.match(/Previous key: sha256:[0-9a-f]{12}, valid until/);

    // A restart inside the window: the window comes from the history, read back past the named-key lines.
    stopped.push(server);
    await server.stop();
    server = await startServer(keyFile);
    expect([await accepts(server, second), await accepts(server, first)]).to.deep.equal([true, true]);
  });

  it('curl with the key gets the health answer; without it or with a wrong one, the documented 401', async function () {
    if (!hasCurl) this.skip();
    const key = (await ps(['show'])).stdout.trim();
    const ok = curl(`${server.url}/api/v1/health`, `X-API-Key: ${key}`);
    expect(ok.status).to.equal('200');
    expect(JSON.parse(ok.body)).to.include({ status: 'ok' });
    expect(curl(`${server.url}/api/v1/health`, `Authorization: Bearer ${key}`).status).to.equal('200');
    for (const header of [undefined, `X-API-Key: ${key}x`]) {
      const refused = curl(`${server.url}/api/v1/health`, header);
      expect([refused.status, refused.body]).to.deep.equal(['401', '{"detail":"Invalid or missing API key"}']);
    }
    expect(curl(`${server.url}/readyz`).status).to.equal('200');
  });

  it('-Rotate -Revoke ends the old key at once, the named keys untouched', async () => {
    const before = (await ps(['show'])).stdout.trim();
    const named = (await ps(['-Add', 'bob'])).stdout.trim();
    const after = (await ps(['-Rotate', '-Revoke'])).stdout.trim();
    await acceptedWithin(server, after);
    expect(await accepts(server, before)).to.equal(false);
    await acceptedWithin(server, named);
  });
});
