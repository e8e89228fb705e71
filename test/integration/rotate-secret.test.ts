import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { chmod, mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { parseHistory } from '../../src/core/history.js';
import type { HistoryEntry } from '../../src/core/history.js';
import { generateKey } from '../../src/core/key.js';
import { REPO, requireBuild } from '../cli/processes.js';
import { tempDir } from '../helpers/server-process.js';

const SCRIPT = join(REPO, 'deploy', 'kubernetes', 'rotate-secret.sh');

// A stand-in for kubectl, put first on PATH: it answers `get secret` per scenario, as kubectl does,
// and records every call and every manifest given to `replace` or `create`, so the test can check what
// reached the cluster without printing a key. The Secret it reads out is at resourceVersion 7; a replace
// that does not carry it is refused with kubectl's Conflict, as the API server refuses it.
const FAKE_KUBECTL = `#!/usr/bin/env node
const fs = require('node:fs');
const state = process.env.FAKE_KUBECTL_STATE;
const args = process.argv.slice(2);
fs.appendFileSync(state + '/calls', JSON.stringify(args) + '\\n');
const scenario = fs.readFileSync(state + '/scenario', 'utf8').trim();
const name = args[args.indexOf('secret') + 1];
if (args.includes('get')) {
  if (scenario === 'notfound') { process.stderr.write('Error from server (NotFound): secrets "' + name + '" not found\\n'); process.exit(1); }
  if (scenario === 'forbidden') {
    process.stderr.write('Error from server (Forbidden): secrets "' + name + '" is forbidden: User "dev" cannot get resource "secrets" in API group "" in the namespace "default"\\n');
    process.exit(1);
  }
  if (scenario === 'unreachable') {
    process.stderr.write('The connection to the server 127.0.0.1:6443 was refused - did you specify the right host or port?\\n');
    process.exit(1);
  }
  const data = {};
  for (const field of ['.api_key', '.api_key_history']) data[field] = fs.readFileSync(state + '/' + field).toString('base64');
  const metadata = { name, namespace: 'default', resourceVersion: '7', labels: { app: 'qwen' }, managedFields: [{ manager: 'kubectl' }] };
  process.stdout.write(JSON.stringify({ apiVersion: 'v1', kind: 'Secret', metadata, type: 'Opaque', data }));
} else if (args.includes('replace') || args.includes('create')) {
  const body = fs.readFileSync(0);
  const manifest = JSON.parse(body);
  if (scenario === 'write-denied') { process.stderr.write('Error from server (Forbidden): secrets "x" is forbidden: cannot update\\n'); process.exit(1); }
  if (scenario === 'changed' || (args.includes('replace') && manifest.metadata.resourceVersion !== '7')) {
    process.stderr.write('Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on secrets "x": the object has been modified; please apply your changes to the latest version and try again\\n');
    process.exit(1);
  }
  fs.writeFileSync(state + '/applied-' + Date.now() + '-' + process.pid + '.json', body);
  process.stdout.write('secret/x ' + (args.includes('create') ? 'created' : 'replaced') + '\\n');
} else {
  process.stderr.write('fake kubectl: unexpected call ' + args.join(' ') + '\\n');
  process.exit(3);
}
`;

interface Run { code: number | null; output: string }
interface Applied { name: string; namespace: string; resourceVersion?: string; labels?: Record<string, string>; managedFields?: unknown; key: string; history: HistoryEntry[] }

describe('deploy/kubernetes/rotate-secret.sh (with a fake kubectl)', function () {
  this.timeout(20_000);
  let dir: string;
  let state: string;
  let cleanup: () => Promise<void>;
  const oldKey = generateKey();
  const oldHistory = `2026-01-02 03:04:05 | Generated | ${oldKey}\n`;
  before(requireBuild);
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    state = join(dir, 'state');
    await mkdir(state);
    await mkdir(join(dir, 'bin'));
    await writeFile(join(dir, 'bin', 'kubectl'), FAKE_KUBECTL);
    await chmod(join(dir, 'bin', 'kubectl'), 0o755);
    await writeFile(join(state, '.api_key'), `${oldKey}\n`);
    await writeFile(join(state, '.api_key_history'), oldHistory);
  });
  afterEach(() => cleanup());

  async function rotate(scenario: string, ...args: string[]): Promise<Run> {
    await writeFile(join(state, 'scenario'), scenario);
    const env = { PATH: `${join(dir, 'bin')}${delimiter}${process.env.PATH ?? ''}`, FAKE_KUBECTL_STATE: state, SECRET: 'qwen-api-key' };
    const child = spawn(SCRIPT, args, { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    // Whatever happened, no key may appear in what the script printed.
    expect(output.includes(oldKey), 'the old key in the output').to.equal(false);
    expect(/qwk_[A-Za-z0-9_-]{40,}/.test(output), 'a key in the output').to.equal(false);
    return { code, output };
  }

  async function calls(): Promise<string[][]> {
    return (await readFile(join(state, 'calls'), 'utf8')).trim().split('\n').map((line) => JSON.parse(line) as string[]);
  }

  async function applied(): Promise<Applied[]> {
    const files = (await readdir(state)).filter((name) => name.startsWith('applied-'));
    return Promise.all(files.map(async (file) => {
      const manifest = JSON.parse(await readFile(join(state, file), 'utf8')) as { kind: string; metadata: Omit<Applied, 'key' | 'history'>; data: Record<string, string> };
      expect(manifest.kind).to.equal('Secret');
      expect(Object.keys(manifest.data).sort()).to.deep.equal(['.api_key', '.api_key_history']);
      const decode = (field: string) => Buffer.from(manifest.data[field]!, 'base64').toString('utf8');
      return { ...manifest.metadata, key: decode('.api_key').trim(), history: parseHistory(decode('.api_key_history')).entries };
    }));
  }

  it('rotates an existing Secret: one read, then key and history together in one replace of what was read, with --grace honoured', async () => {
    const r = await rotate('found', '--grace', '10m');
    expect(r.code).to.equal(0);
    expect((await calls()).map((args) => args.filter((a) => ['get', 'replace', 'create', 'apply'].includes(a)))).to.deep.equal([['get'], ['replace']]);
    const [secret, ...more] = await applied();
    expect(more).to.have.length(0);
    // The Secret as it was read: its resourceVersion (so a change meanwhile is a Conflict) and labels kept.
    expect(secret).to.deep.include({ name: 'qwen-api-key', namespace: 'default', resourceVersion: '7', labels: { app: 'qwen' } });
    expect(secret!.managedFields).to.equal(undefined);
    expect(/^qwk_[A-Za-z0-9_-]{43}$/.test(secret!.key) && secret!.key !== oldKey, 'a new generated key').to.equal(true);
    const actions = secret!.history.map((e) => [e.action.replace(/^Grace until .*/, 'Grace until'), e.key === oldKey ? 'old' : e.key === secret!.key ? 'new' : 'other']);
    expect(actions).to.deep.equal([['Generated', 'old'], ['Rotated (replaced)', 'old'], ['Rotated (new)', 'new'], ['Grace until', 'old']]);
  });

  it('rotates with --revoke: the applied history revokes the old key', async () => {
    expect((await rotate('found', '--revoke')).code).to.equal(0);
    const [secret] = await applied();
    expect(secret!.history.slice(1).map((e) => [e.action, e.key === oldKey])).to.deep.equal([
      ['Rotated (replaced)', true], ['Rotated (new)', false], ['Revoked', true],
    ]);
  });

  it('a Secret kubectl reports NotFound is not created without --create: exit 1, kubectl\'s message, nothing written', async () => {
    const r = await rotate('notfound', '--grace', '10m');
    expect(r.code).to.equal(1);
    expect(r.output).to.include('Error from server (NotFound): secrets "qwen-api-key" not found');
    expect(r.output).to.include('--create');
    expect(await applied()).to.deep.equal([]);
  });

  it('with --create, a NotFound Secret is created with a first key and its Generated line, in one create', async () => {
    expect((await rotate('notfound', '--create')).code).to.equal(0);
    expect((await calls()).map((args) => args.filter((a) => ['get', 'replace', 'create', 'apply'].includes(a)))).to.deep.equal([['get'], ['create']]);
    const [secret, ...more] = await applied();
    expect(more).to.have.length(0);
    expect(secret!.resourceVersion).to.equal(undefined);
    expect(secret!.history.map((e) => [e.action, e.key === secret!.key])).to.deep.equal([['Generated', true]]);
  });

  it('with --create and --grace or --revoke, a NotFound Secret is refused: there is no old key to keep or end', async () => {
    for (const window of [['--grace', '10m'], ['--revoke']]) {
      const r = await rotate('notfound', '--create', ...window);
      expect(r.code, window.join(' ')).to.equal(1);
      expect(r.output).to.include('no old key for --grace or --revoke');
    }
    expect(await applied()).to.deep.equal([]);
  });

  for (const [scenario, message] of [
    ['forbidden', 'Error from server (Forbidden): secrets "qwen-api-key" is forbidden'],
    ['unreachable', 'The connection to the server 127.0.0.1:6443 was refused'],
  ] as const) {
    it(`any other failure to read the Secret (${scenario}), even with --create: exit 1 with kubectl's message, nothing applied`, async () => {
      const r = await rotate(scenario, '--create', '--grace', '10m');
      expect(r.code).to.equal(1);
      expect(r.output).to.include(message);
      expect(r.output).to.include('nothing changed');
      expect((await calls()).some((args) => args.some((a) => ['replace', 'create', 'apply'].includes(a)))).to.equal(false);
    });
  }

  it('a refused write exits 1 with kubectl\'s message', async () => {
    const r = await rotate('write-denied');
    expect(r.code).to.equal(1);
    expect(r.output).to.include('cannot update');
    expect(r.output).to.include('nothing changed');
    expect(await applied()).to.deep.equal([]);
  });

  it('a Secret changed since it was read (another rotation meanwhile) is left as it is: exit 1, the Conflict named', async () => {
    const r = await rotate('changed', '--grace', '10m');
    expect(r.code).to.equal(1);
    expect(r.output).to.include('Error from server (Conflict)');
    expect(r.output).to.include('changed since it was read');
    expect(r.output).to.include('run again');
    expect(await applied()).to.deep.equal([]);
  });

  it('refuses an unknown argument with exit 2 before touching the cluster', async () => {
    const r = await rotate('found', '--grcae', '10m');
    expect(r.code).to.equal(2);
    expect(r.output).to.include('unknown argument "--grcae"');
    expect(await readdir(state)).to.not.include('calls');
  });
});
