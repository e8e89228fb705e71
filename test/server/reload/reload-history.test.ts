import { expect } from 'chai';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatEntry } from '../../../src/core/history.js';
import { FileReads } from '../../../src/core/regular-file.js';
import { ReloadHistory } from '../../../src/server/reload/reload-history.js';
import { TrustReport } from '../../../src/server/reload/trust-report.js';
import { captureLogger, tempDir } from './helpers.js';

const T = new Date(2030, 0, 1, 12, 0, 0);
const DAY_MS = 86_400_000;
const line = (action: string, key: string) => formatEntry({ time: T, action, key }) + '\n';

describe('reload history: what the daemon may take from the history', () => {
  let dir: string;
  let keyFile: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    await mkdir(join(dir, 'api'), { mode: 0o700 });
    keyFile = join(dir, 'api', '.api_key');
    await writeFile(keyFile, 'k2\n', { mode: 0o600 });
  });
  afterEach(() => cleanup());

  const history = (until: string) => writeFile(`${keyFile}_history`,
    line('Generated', 'k1') + line('Rotated (replaced)', 'k1') + line('Rotated (new)', 'k2') + line(`Grace until ${until}`, 'k1'), { mode: 0o600 });
  const setUp = (maxGraceMs?: number) => {
    const log = captureLogger();
    const reads = new FileReads();
    const trust = new TrustReport({ keyFile, logger: log.logger, reads });
    return { log, trust, history: new ReloadHistory({ keyFile, logger: log.logger, reads, maxGraceMs, trust }) };
  };

  it('cuts a window longer than --max-grace, with one error line per change of the history', async () => {
    await history('2099-01-01T00:00:00.000Z');
    const { log, history: reader } = setUp(DAY_MS);
    const { state, changed } = await reader.read();
    expect(changed).to.equal(true);
    expect(state.previous?.graceUntil?.getTime()).to.equal(T.getTime() + DAY_MS);
    await reader.read();
    const cut = log.lines.filter((l) => l.message === 'history window longer than --max-grace; cut to it');
    expect(cut.length).to.equal(1);
    expect(cut[0]).to.include({ level: 'error', asked: '2099-01-01T00:00:00.000Z', previousUntil: new Date(T.getTime() + DAY_MS).toISOString(), maxGrace: '1d' });
  });

  it('keeps a window within the maximum as the history wrote it, silently', async () => {
    const until = new Date(T.getTime() + 3_600_000).toISOString();
    await history(until);
    const { log, history: reader } = setUp();
    expect((await reader.read()).state.previous?.graceUntil?.toISOString()).to.equal(until);
    expect(log.lines.filter((l) => l.level === 'error')).to.deep.equal([]);
  });

  it('takes no window, only revocations, from a history others can write, and the window back once that is fixed', async function () {
    if (process.platform === 'win32') this.skip();
    await history(new Date(T.getTime() + 3_600_000).toISOString());
    await writeFile(`${keyFile}_history`, line('Revoked', 'k0'), { flag: 'a' });
    await chmod(`${keyFile}_history`, 0o666);
    const { trust, history: reader } = setUp();
    const open = await reader.read();
    expect(open.state.current).to.equal(undefined);
    expect(open.state.previous).to.equal(undefined);
    expect([...open.state.revoked]).to.deep.equal(['k0']);
    expect(trust.trusted).to.equal(false);
    await chmod(`${keyFile}_history`, 0o600);
    const fixed = await reader.read();
    expect(fixed.changed, 'the trust changed though the text did not').to.equal(true);
    expect(fixed.state.previous?.key).to.equal('k1');
  });

  it('warns when the history cannot be read, with the reason, and takes it as saying nothing', async () => {
    await mkdir(`${keyFile}_history`);
    const { log, history: reader } = setUp();
    const { state } = await reader.read();
    expect(state.previous).to.equal(undefined);
    expect(log.lines.filter((l) => l.level === 'warn')).to.deep.equal([
      { level: 'warn', message: 'history unreadable; previous-key windows from memory only', reason: 'HISTORY_NOT_REGULAR' },
    ]);
  });
});
