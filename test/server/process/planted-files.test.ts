import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { formatClients } from '../../../src/core/clients-format.js';
import { digestOf, generateKey } from '../../../src/core/key.js';
import { writeKeyFile } from '../../../src/core/key-file.js';
import { registerSecret, spawnServer, statusOf, tempDir } from '../../helpers/server-process.js';
import type { ServerProcess } from '../../helpers/server-process.js';

const ARGS = ['--port', '0', '--host', '127.0.0.1', '--auth-fail-limit', 'off'];
const NOBODY = 65534;

function freshKey(): string {
  const key = generateKey();
  registerSecret(key);
  return key;
}

/** Writes `text` to `path` as the unprivileged user nobody, as another local user would. */
function writeAsNobody(path: string, text: string): void {
  const r = spawnSync(process.execPath, ['-e', 'require("node:fs").writeFileSync(process.argv[1], process.argv[2], { mode: 0o600 })', path, text],
    { uid: NOBODY, gid: NOBODY, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`writing ${path} as nobody failed: ${r.stderr}`);
}

// Key files kept in a directory anyone may add names to (sticky, like /tmp): another local user can create
// the key file or the clients file first. The daemon reads only files of its own user or root.
describe('server process: key files planted by another user in a sticky directory', function () {
  this.timeout(30_000);
  let cleanup: (() => Promise<void>) | undefined;
  let server: ServerProcess | undefined;
  let shared: string;
  before(function () {
    if (process.platform !== 'linux' || process.geteuid?.() !== 0) this.skip(); // a second user needs root
  });
  beforeEach(async () => {
    let dir: string;
    ({ dir, cleanup } = await tempDir());
    await chmod(dir, 0o755);
    shared = join(dir, 'shared');
    await mkdir(shared);
    await chmod(shared, 0o1777);
  });
  afterEach(async () => {
    await server?.stop('SIGKILL');
    server = undefined;
    await cleanup?.();
  });

  // Regression: a clients file another user wrote there was loaded, and its key accepted (fileTrust said ok).
  it('refuses a clients file of another user: its key gets 401, the last good set stays, health names the file', async () => {
    const key = freshKey();
    const planted = freshKey();
    const keyFile = join(shared, '.api_key');
    await writeKeyFile(keyFile, key);
    server = await spawnServer({ args: [...ARGS, '--key-file', keyFile] });
    const clients = formatClients([{ name: 'mallory', sha256: digestOf(planted), created: new Date() }]).toString();
    writeAsNobody(join(shared, '.api_clients'), clients);
    const line = await server.waitForLine((l) => l.message === 'clients file rejected; keeping the last good set' && l.level === 'error', 5000);
    expect(line.reason).to.equal('CLIENTS_UNTRUSTED');
    expect(await statusOf(`${server.url}/api/v1/health`, planted)).to.equal(401);
    const health = await (await fetch(`${server.url}/api/v1/health`, { headers: { 'X-API-Key': key } })).json() as {
      fileTrust: { ok: boolean; writableByOthers: Array<{ path: string; role: string; problem: string }> };
    };
    expect(health.fileTrust.ok).to.equal(false);
    expect(health.fileTrust.writableByOthers).to.deep.include({
      path: join(shared, '.api_clients'), role: 'clients file', problem: `owned by another user (uid ${NOBODY}), neither this user (uid 0) nor root`,
    });
  });

  // Regression: with the key in QWEN_API_KEY and no key file yet, a key file another user created there took over.
  it('refuses a key file of another user: the key in force stays, the planted key gets 401', async () => {
    const key = freshKey();
    const planted = freshKey();
    const keyFile = join(shared, '.api_key');
    server = await spawnServer({ args: [...ARGS, '--key-file', keyFile], env: { QWEN_API_KEY: key } });
    writeAsNobody(keyFile, `${planted}\n`);
    const line = await server.waitForLine((l) => l.message === 'key file rejected; keeping the last good key' && l.level === 'error', 5000);
    expect(line.reason).to.equal('KEY_UNTRUSTED');
    expect(await statusOf(`${server.url}/api/v1/health`, planted)).to.equal(401);
    expect(await statusOf(`${server.url}/api/v1/health`, key)).to.equal(200);
  });
});
