import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fingerprint, generateKey } from '../../../src/core/key.js';
import { writeKeyFile } from '../../../src/core/key-file.js';
import { DEVELOPMENT_KEY } from '../../../src/server/reload/key-source.js';
import { eventually, keyFileWith, registerSecret, spawnServer, statusOf, tempDir } from '../../helpers/server-process.js';

describe('server process: key sources at start', () => {
  registerSecret(DEVELOPMENT_KEY);

  it('first run: generates a key (0600, parent created, history Generated) and never prints it', async () => {
    const { dir, cleanup } = await tempDir();
    const keyFile = join(dir, 'deep', 'er', '.api_key');
    const server = await spawnServer({ args: ['--port', '0', '--key-file', keyFile] });
    try {
      const key = (await readFile(keyFile, 'utf8')).trim();
      registerSecret(key);
      expect((await stat(keyFile)).mode & 0o777).to.equal(0o600);
      const history = await readFile(`${keyFile}_history`, 'utf8');
      expect(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \| Generated \| /.test(history)).to.equal(true);
      expect(history.includes(key)).to.equal(true);
      expect(server.lines().some((l) => String(l.message).endsWith(`scripts/manage-key show --key-file ${keyFile}`))).to.equal(true);
      expect((server.stdout() + server.stderr()).includes(key)).to.equal(false);
      expect(await statusOf(`${server.url}/api/v1/health`, key)).to.equal(200);
    } finally {
      await server.stop();
      await cleanup();
    }
  });

  it('first run outside the checkout: the line names a manage-key command that works as printed from there', async () => {
    const { dir, cleanup } = await tempDir();
    const server = await spawnServer({ args: ['--port', '0'], cwd: dir });
    try {
      const key = (await readFile(join(dir, 'api', '.api_key'), 'utf8')).trim();
      registerSecret(key);
      const line = server.lines().find((l) => String(l.message).startsWith('generated a new API key into the key file; see it with: '));
      const command = String(line?.message).slice('generated a new API key into the key file; see it with: '.length);
      expect(command.startsWith('scripts/'), 'a relative scripts/ path that does not exist there').to.equal(false);
      const shown = spawnSync('sh', ['-c', command], { cwd: dir, encoding: 'utf8' });
      expect(shown.status).to.equal(0);
      expect(shown.stdout === `${key}\n`, 'the command prints the generated key').to.equal(true);
    } finally {
      await server.stop();
      await cleanup();
    }
  });

  it('falls back to QWEN_API_KEY when there is no key file', async () => {
    const { dir, cleanup } = await tempDir();
    const key = generateKey();
    registerSecret(key);
    const server = await spawnServer({ args: ['--port', '0', '--key-file', join(dir, 'api', '.api_key')], env: { QWEN_API_KEY: key } });
    try {
      const res = await fetch(`${server.url}/api/v1/health`, { headers: { 'X-API-Key': key } });
      expect(res.status).to.equal(200);
      expect(((await res.json()) as { key: { source: string } }).key.source).to.equal('env');
    } finally {
      await server.stop();
      await cleanup();
    }
  });

  it('uses the development key only with NODE_ENV=development, with a loud warning', async () => {
    const { dir, cleanup } = await tempDir();
    const server = await spawnServer({ args: ['--port', '0', '--key-file', join(dir, 'api', '.api_key')], env: { NODE_ENV: 'development' } });
    try {
      expect(await statusOf(`${server.url}/api/v1/health`, DEVELOPMENT_KEY)).to.equal(200);
      const warning = server.lines().find((l) => l.level === 'warn' && /DEVELOPMENT KEY/i.test(String(l.message)));
      expect(warning).to.not.equal(undefined);
    } finally {
      await server.stop();
      await cleanup();
    }
  });

  it('with an invalid key file: not ready, file untouched, ready once the file is fixed', async () => {
    const { dir, cleanup } = await tempDir();
    const keyFile = await keyFileWith(dir, 'placeholder');
    await writeFile(keyFile, 'not a key\n');
    const server = await spawnServer({ args: ['--port', '0', '--key-file', keyFile] });
    try {
      const res = await fetch(`${server.url}/readyz`);
      expect(res.status).to.equal(503);
      expect(await res.json()).to.have.property('detail');
      expect(server.lines().some((l) => l.level === 'error')).to.equal(true);
      expect(await readFile(keyFile, 'utf8')).to.equal('not a key\n');
      const key = generateKey();
      registerSecret(key);
      await writeKeyFile(keyFile, key);
      await eventually(async () => (await statusOf(`${server.url}/readyz`)) === 200, 3000);
      const health = await fetch(`${server.url}/api/v1/health`, { headers: { 'X-API-Key': key } });
      expect(((await health.json()) as { key: { fingerprint: string } }).key.fingerprint).to.equal(fingerprint(key));
    } finally {
      await server.stop();
      await cleanup();
    }
  });
});
