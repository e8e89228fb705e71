import { expect } from 'chai';
import { mkdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatAge, formatKeyStatus, keyStatusJson, readKeyStatus } from '../../src/cli/key-status.js';
import { formatDuration } from '../../src/core/duration.js';
import { formatStamp } from '../../src/core/history.js';
import { tempDir } from '../core/helpers.js';

const K1 = 'qwk_first-key-0000000000000000000000000000000';
const K2 = 'qwk_second-key-111111111111111111111111111111';
const T = new Date(2024, 5, 1, 12, 0, 0);
const at = (s: number) => new Date(T.getTime() + s * 1000);
/** A history line written out here (T is 2024-06-01 12:00:00 local time), not by the code under test. */
const line = (s: number, action: string, key: string) => `2024-06-01 12:${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')} | ${action} | ${key}`;
// sha256: + the first 12 hex digits of each key's SHA-256 (sha256sum), written out.
const K1_FINGERPRINT = 'sha256:353c23c9928d';
const K2_FINGERPRINT = 'sha256:249a6be7eec0';

describe('key-status', () => {
  let dir: string;
  let keyFile: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir());
    keyFile = join(dir, '.api_key');
  });
  afterEach(() => cleanup());

  async function files(key: string, lines: string[]): Promise<void> {
    await writeFile(keyFile, key + '\n');
    await writeFile(keyFile + '_history', lines.map((l) => l + '\n').join(''));
  }
  const rotation = [line(0, 'Generated', K1), line(100, 'Rotated (replaced)', K1), line(100, 'Rotated (new)', K2)];

  it('dates the current key from the history and computes its age', async () => {
    await files(K2, rotation);
    const s = await readKeyStatus({ keyFile, now: at(3700), defaultGraceMs: 0 });
    expect(s.current.since.getTime()).to.equal(at(100).getTime());
    expect(s.current.sinceFrom).to.equal('history');
    expect(s.historyAgrees).to.equal(true);
    expect(s.previous).to.include({ origin: 'server-default', valid: false });
  });

  it('honours a rotation\'s own window over the assumed default', async () => {
    await files(K2, [...rotation, line(100, `Grace until ${at(700).toISOString()}`, K1)]);
    const inside = await readKeyStatus({ keyFile, now: at(699), defaultGraceMs: 0 });
    expect(inside.previous).to.include({ origin: 'rotation', valid: true });
    expect(inside.previous!.until.getTime()).to.equal(at(700).getTime());
    const after = await readKeyStatus({ keyFile, now: at(700), defaultGraceMs: 86_400_000 });
    expect(after.previous!.valid).to.equal(false);
  });

  it('assumes the server default window when the rotation set none', async () => {
    await files(K2, rotation);
    const s = await readKeyStatus({ keyFile, now: at(150), defaultGraceMs: 60_000 });
    expect(s.previous).to.include({ origin: 'server-default', valid: true });
    expect(s.previous!.until.getTime()).to.equal(at(160).getTime());
  });

  it('never counts a revoked previous key as valid', async () => {
    await files(K2, [...rotation, line(100, 'Revoked', K1)]);
    const s = await readKeyStatus({ keyFile, now: at(101), defaultGraceMs: 86_400_000 });
    expect(s.previous).to.include({ origin: 'revoked', valid: false });
  });

  it('trusts the key file over a history that names another key, and dates it by the file', async () => {
    // An interrupted rotation: the history logged K2, the key file still holds K1.
    await files(K1, rotation);
    await utimes(keyFile, at(5), at(5));
    const s = await readKeyStatus({ keyFile, now: at(200), defaultGraceMs: 86_400_000 });
    expect(s.current.key === K1).to.equal(true);
    expect(s.historyAgrees).to.equal(false);
    expect(s.current.sinceFrom).to.equal('file-mtime');
    expect(s.previous).to.equal(undefined);
    expect(formatKeyStatus(s, formatStamp, formatDuration)).to.include('Warning');
  });

  it('reads a key file with no history', async () => {
    await mkdir(dir, { recursive: true });
    await writeFile(keyFile, K1);
    const s = await readKeyStatus({ keyFile, now: T, defaultGraceMs: 0 });
    expect(s.entries).to.equal(0);
    expect(s.previous).to.equal(undefined);
  });

  it('tells people, by fingerprint only, what is valid and any assumption', async () => {
    await files(K2, rotation);
    const s = await readKeyStatus({ keyFile, now: at(130), defaultGraceMs: 60_000 });
    const text = formatKeyStatus(s, formatStamp, formatDuration);
    expect(text).to.include(`Current key:  ${K2_FINGERPRINT}, valid now; in force since 2024-06-01 12:01:40 (30s old)`);
    expect(text).to.include(`Previous key: ${K1_FINGERPRINT}, valid until 2024-06-01 12:02:40 (30s left)`);
    expect(text).to.include('assuming the server\'s default grace of 1m');
    expect(text.includes(K1) || text.includes(K2)).to.equal(false);
  });

  describe('the status text, line for line', () => {
    const text = async (options: { now: Date; defaultGraceMs: number; historyTrusted?: boolean }) =>
      formatKeyStatus(await readKeyStatus({ keyFile, ...options }), formatStamp, formatDuration);
    const head = (entries: string) => `Key file:     ${keyFile}\nHistory:      ${keyFile}_history (${entries})\n`;

    it('a window set by the rotation, with the lines it counted and skipped', async () => {
      await files(K2, [...rotation, 'garbage', line(100, `Grace until ${at(700).toISOString()}`, K1)]);
      expect(await text({ now: at(130), defaultGraceMs: 0 })).to.equal(head('4 entries, 1 malformed line skipped')
        + `Current key:  ${K2_FINGERPRINT}, valid now; in force since 2024-06-01 12:01:40 (30s old)\n`
        + `Previous key: ${K1_FINGERPRINT}, valid until 2024-06-01 12:11:40 (9m 30s left)\n`
        + '              (window set by its rotation, --grace)\n');
    });

    it('says entry and malformed line in the singular for one, in the plural for more', async () => {
      await files(K1, [line(0, 'Generated', K1), 'garbage', 'more garbage']);
      expect((await text({ now: at(130), defaultGraceMs: 0 })).split('\n')[1]).to.equal(`History:      ${keyFile}_history (1 entry, 2 malformed lines skipped)`);
      await files(K1, []);
      expect((await text({ now: at(130), defaultGraceMs: 0 })).split('\n')[1]).to.equal(`History:      ${keyFile}_history (0 entries)`);
    });

    it('a window that is over', async () => {
      await files(K2, [...rotation, line(100, `Grace until ${at(700).toISOString()}`, K1)]);
      expect((await text({ now: at(800), defaultGraceMs: 0 })).split('\n').slice(3)).to.deep.equal([
        `Previous key: ${K1_FINGERPRINT}, not valid since 2024-06-01 12:11:40`, '              (window set by its rotation, --grace)', '']);
    });

    it('a revoked key', async () => {
      await files(K2, [...rotation, line(100, 'Revoked', K1)]);
      expect((await text({ now: at(130), defaultGraceMs: 60_000 })).split('\n').slice(3)).to.deep.equal([
        `Previous key: ${K1_FINGERPRINT}, revoked at 2024-06-01 12:01:40: not valid`, '']);
    });

    it('no previous key', async () => {
      await files(K1, [line(0, 'Generated', K1)]);
      expect(await text({ now: at(130), defaultGraceMs: 60_000 })).to.equal(head('1 entry')
        + `Current key:  ${K1_FINGERPRINT}, valid now; in force since 2024-06-01 12:00:00 (2m 10s old)\nPrevious key: none\n`);
    });

    it('a key file the history does not name, dated by the file', async () => {
      await files(K2, [line(0, 'Generated', K1)]);
      await utimes(keyFile, at(5), at(5));
      expect((await text({ now: at(130), defaultGraceMs: 60_000 })).split('\n').slice(2)).to.deep.equal([
        `Current key:  ${K2_FINGERPRINT}, valid now; in force since 2024-06-01 12:00:05 (2m 5s old, from the file's modification time)`,
        '              Warning: the history does not name this key as current (an interrupted rotation or a hand-edited key file).',
        'Previous key: none', '']);
    });

    it('a history others can write: no window, and a warning', async () => {
      await files(K2, rotation);
      await utimes(keyFile, at(5), at(5));
      expect((await text({ now: at(130), defaultGraceMs: 60_000, historyTrusted: false })).split('\n').slice(3)).to.deep.equal([
        '              Warning: others can write the key files or their directory; servers honour no window from the history.',
        'Previous key: none', '']);
    });

    it('a history that grew past the tail it reads: a first rotation there is not believed, as servers do', async () => {
      const firstRotation = [line(100, 'Rotated (replaced)', K1), line(100, 'Rotated (new)', K2)];
      await files(K2, firstRotation);
      expect((await readKeyStatus({ keyFile, now: at(130), defaultGraceMs: 60_000 })).previous?.key === K1).to.equal(true);
      await files(K2, ['x'.repeat(70_000), ...firstRotation]);
      expect((await readKeyStatus({ keyFile, now: at(130), defaultGraceMs: 60_000 })).previous).to.equal(undefined);
    });

    it('the JSON form, field for field', async () => {
      await files(K2, rotation);
      expect(JSON.parse(JSON.stringify(keyStatusJson(await readKeyStatus({ keyFile, now: at(130), defaultGraceMs: 60_000 }))))).to.deep.equal({
        keyFile, historyFile: `${keyFile}_history`, now: at(130).toISOString(), defaultGraceMs: 60_000, maxGraceMs: 604_800_000,
        historyTrusted: true, historyAgrees: true, entries: 3, malformed: 0,
        current: { fingerprint: K2_FINGERPRINT, since: at(100).toISOString(), sinceFrom: 'history', ageSeconds: 30 },
        previous: { fingerprint: K1_FINGERPRINT, replacedAt: at(100).toISOString(), until: at(160).toISOString(), valid: true, window: 'server-default' },
      });
    });
  });

  it('formats ages in their two largest units', () => {
    expect(formatAge(0)).to.equal('0s');
    expect(formatAge(45_000)).to.equal('45s');
    expect(formatAge(552_000)).to.equal('9m 12s');
    expect(formatAge(3_600_000)).to.equal('1h');
    expect(formatAge(273_600_000 + 61_000)).to.equal('3d 4h');
  });
});
