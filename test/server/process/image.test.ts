import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { REPO } from '../../cli/processes.js';
import { registerSecret, spawnServer, statusOf, tempDir } from '../../helpers/server-process.js';

// No container engine is needed here: the Dockerfile is read, and the daemon is started the way its
// last stage starts it (ENV, WORKDIR layout, ENTRYPOINT), which is what `docker run` does.

interface Stage { from: string; env: Record<string, string>; run: string[]; entrypoint?: string[] }

async function dockerfile(): Promise<Stage[]> {
  const text = (await readFile(join(REPO, 'Dockerfile'), 'utf8')).replace(/\\\n/g, ' ');
  const stages: Stage[] = [];
  for (const line of text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'))) {
    const [instruction, rest = ''] = [line.split(/\s+/, 1)[0]!.toUpperCase(), line.replace(/^\S+\s*/, '')];
    if (instruction === 'FROM') stages.push({ from: rest.split(/\s+/)[0]!, env: {}, run: [] });
    const stage = stages.at(-1)!;
    if (instruction === 'ENV') for (const [, name, value] of rest.matchAll(/(\w+)=(\S+)/g)) stage.env[name!] = value!;
    if (instruction === 'RUN') stage.run.push(rest);
    if (instruction === 'ENTRYPOINT') stage.entrypoint = JSON.parse(rest) as string[];
  }
  return stages;
}

describe('the container image (Dockerfile, without a container engine)', function () {
  this.timeout(20_000);

  it('builds and runs on a supported LTS Node that the suite is tested on (22 or 24)', async () => {
    const { engines } = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { engines: { node: string } };
    for (const { from } of await dockerfile()) {
      const major = /^node:(\d+)-slim$/.exec(from)?.[1];
      expect(['22', '24'], from).to.include(major);
      expect(engines.node, `engines names Node ${major}`).to.match(new RegExp(`\\^${major}\\b`));
    }
  });

  it('starts the daemon with npm start\'s node flags', async () => {
    const image = (await dockerfile()).at(-1)!;
    const { scripts } = JSON.parse(await readFile(join(REPO, 'package.json'), 'utf8')) as { scripts: { start: string } };
    expect(image.entrypoint?.join(' ')).to.equal(scripts.start);
  });

  it('listens on 0.0.0.0 by default, answering on every interface, and generates its first key in api/', async () => {
    const image = (await dockerfile()).at(-1)!;
    expect(image.env.HOST).to.equal('0.0.0.0');
    expect(image.run.some((cmd) => /\bmkdir\b.*\bapi\b/.test(cmd) && /\bchown node:node api\b/.test(cmd)), 'api/ made writable for the node user').to.equal(true);
    const { dir, cleanup } = await tempDir();
    await mkdir(join(dir, 'api'), { mode: 0o700 });
    const [node, ...flags] = image.entrypoint!;
    expect(node).to.equal('node');
    const nodeFlags = flags.filter((f) => f !== 'dist/server.js');
    // The image's environment and entrypoint, with a free port instead of 8000 so tests can run side by side.
    const server = await spawnServer({ cwd: dir, env: { ...image.env, PORT: '0' }, nodeArgs: nodeFlags });
    try {
      registerSecret((await readFile(join(dir, 'api', '.api_key'), 'utf8')).trim());
      expect(server.lines().find((l) => l.message === 'listening')).to.include({ host: '0.0.0.0' });
      expect(await statusOf(`${server.url}/livez`)).to.equal(200);
      // Where the machine has an address besides loopback, the daemon answers there too.
      const outside = Object.values(networkInterfaces()).flat().find((a) => a && !a.internal && a.family === 'IPv4');
      if (outside) expect(await statusOf(`http://${outside.address}:${server.port}/livez`), outside.address).to.equal(200);
      expect((await stat(join(dir, 'api', '.api_key'))).mode & 0o777).to.equal(0o600);
    } finally {
      await server.stop();
      await cleanup();
    }
  });

  it('npm start, outside a container, stays on 127.0.0.1', async () => {
    const { dir, cleanup } = await tempDir();
    const child = spawn('npm', ['start', '--silent', '--', '--port', '0', '--key-file', join(dir, 'api', '.api_key')], {
      cwd: REPO, env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    });
    try {
      const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
        let out = '';
        const timer = setTimeout(() => reject(new Error('no listening line from npm start')), 15_000);
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk;
          const line = out.split('\n').find((l) => l.startsWith('{') && l.includes('"listening"'));
          if (line) { clearTimeout(timer); resolve(JSON.parse(line) as Record<string, unknown>); }
        });
        child.on('exit', () => reject(new Error('npm start exited before listening')));
      });
      registerSecret((await readFile(join(dir, 'api', '.api_key'), 'utf8')).trim());
      expect(listening).to.include({ host: '127.0.0.1' });
    } finally {
      // npm runs the daemon in a shell: end the whole group.
      try { process.kill(-child.pid!, 'SIGTERM'); } catch { /* already gone */ }
      await new Promise((resolve) => child.exitCode !== null ? resolve(undefined) : child.once('exit', resolve));
      await cleanup();
    }
  });
});
