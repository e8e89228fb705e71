import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tempDir } from '../core/helpers.js';
import { requireBuild, runCli } from './processes.js';

const HOLE = 300 * 1024 * 1024;

// FIFOs and absurd files where the key file or the history should be: the CLI answers at once, in bounded memory.
describe('manage-key and special files (processes)', function () {
  this.timeout(30_000);
  let dir: string;
  let api: string;
  let cleanup: () => Promise<void>;
  before(function () {
    requireBuild();
    if (process.platform === 'win32') this.skip();
  });
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('manage-key-special-'));
    api = join(dir, 'api');
    // The directory a server runs in has api/ (generate refuses elsewhere).
    await mkdir(api);
  });
  afterEach(() => cleanup());

  // A hung CLI is killed after 5 s: its exit code is then null, and the test fails on it.
  const cli = (args: string[], env?: Record<string, string>) => runCli(args, { cwd: dir, timeoutMs: 5000, env });

  // Regression: show and rotate waited forever for a writer on a FIFO.
  it('refuses a FIFO at the key file at once: show, rotate and generate exit 1 with one line', async () => {
    expect((await cli(['generate'])).code).to.equal(0);
    await rm(join(api, '.api_key'));
    execFileSync('mkfifo', [join(api, '.api_key')]);
    for (const args of [['show'], ['rotate'], ['generate'], ['status']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).to.equal(1);
      expect(r.stderr, args.join(' ')).to.match(/^manage-key: [^\n]*\.api_key (is a FIFO, not a regular file|holds something that is not a valid key \(KEY_NOT_REGULAR\))[^\n]*\n$/);
    }
  });

  it('refuses a FIFO at the history at once: rotate, history and status exit 1 with one line, the key unchanged', async () => {
    expect((await cli(['generate'])).code).to.equal(0);
    const key = await readFile(join(api, '.api_key'));
    await rm(join(api, '.api_key_history'));
    execFileSync('mkfifo', [join(api, '.api_key_history')]);
    for (const args of [['rotate'], ['history'], ['status']]) {
      const r = await cli(args);
      expect(r.code, args.join(' ')).to.equal(1);
      expect(r.stderr, args.join(' ')).to.match(/^manage-key: [^\n]*\.api_key_history is a FIFO, not a regular file[^\n]*\n$/);
    }
    expect((await readFile(join(api, '.api_key'))).equals(key)).to.equal(true);
  });

  // Regression: history read a sparse file of hundreds of MB whole.
  it('prints the history of a sparse 300 MB file in bounded memory', async () => {
    expect((await cli(['generate'])).code).to.equal(0);
    const history = join(api, '.api_key_history');
    const handle = await open(history, 'r+');
    try {
      await handle.truncate(HOLE);
    } finally {
      await handle.close();
    }
    expect((await cli(['rotate'])).code).to.equal(0);
    // Peak resident memory, as the process itself measured it on its way out.
    const probe = join(dir, 'max-rss.mjs');
    await writeFile(probe, "import { writeSync } from 'node:fs';\n"
      + "process.on('exit', () => writeSync(2, `max-rss-kib=${process.resourceUsage().maxRSS}\\n`));\n");
    for (const args of [['history'], ['history', '--json'], ['status']]) {
      const r = await cli(args, { NODE_OPTIONS: `--import=${probe}` });
      expect(r.code, args.join(' ')).to.equal(0);
      const kib = Number(/max-rss-kib=(\d+)/.exec(r.stderr)?.[1]);
      expect(kib / 1024, `${args.join(' ')}: peak RSS in MiB`).to.be.below(150);
      if (args[0] === 'history' && args.length === 1) {
        expect(r.stdout).to.match(/\[Rotated \(new\)\] qwk_[A-Za-z0-9_-]{2}\.\.\./);
        expect(r.stderr).to.include('skipped 1 malformed line(s)');
      }
    }
  });
});
