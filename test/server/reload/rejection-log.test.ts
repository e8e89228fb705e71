import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { RejectionLog } from '../../../src/server/reload/rejection-log.js';
import { captureLogger } from './helpers.js';

const KEY = 'qwk_rejection_' + 'A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8';
const held = { key: KEY, source: 'file' as const };
const fingerprint = 'sha256:' + createHash('sha256').update(KEY).digest('hex').slice(0, 12);

describe('RejectionLog', () => {
  it('logs a rejection with a key in force at error: the last good key stays, by fingerprint', () => {
    const log = captureLogger();
    const rejections = new RejectionLog(log.logger, '/k/.api_key');
    rejections.report({ reason: 'KEY_EMPTY', trigger: 'change:.api_key', held, quiet: false });
    expect(log.lines).to.deep.equal([{
      level: 'error', message: 'key file rejected; keeping the last good key',
      reason: 'KEY_EMPTY', trigger: 'change:.api_key', keyFile: '/k/.api_key', fingerprint,
    }]);
    expect(rejections.reported).to.equal(true);
  });

  it('logs a rejection without a key in force as not ready', () => {
    const log = captureLogger();
    new RejectionLog(log.logger, '/k/.api_key').report({ reason: 'KEY_MISSING', trigger: 'initialise', quiet: false });
    expect(log.lines).to.deep.equal([{
      level: 'error', message: 'key file rejected; not ready until it holds a valid key', reason: 'KEY_MISSING', trigger: 'initialise', keyFile: '/k/.api_key',
    }]);
  });

  it('logs repeats of the same reason at debug, and a new reason at error again', () => {
    const log = captureLogger();
    const rejections = new RejectionLog(log.logger, 'k');
    for (const reason of ['KEY_EMPTY', 'KEY_EMPTY', 'KEY_TOO_LARGE', 'KEY_TOO_LARGE', 'KEY_EMPTY']) {
      rejections.report({ reason, trigger: 'backstop', held, quiet: false });
    }
    expect(log.lines.map((l) => l.level)).to.deep.equal(['error', 'debug', 'error', 'debug', 'error']);
  });

  it('logs a quiet rejection at debug and does not count it as reported, so the next one is an error', () => {
    const log = captureLogger();
    const rejections = new RejectionLog(log.logger, 'k');
    rejections.report({ reason: 'KEY_EMPTY', trigger: 'change', held, quiet: true });
    expect(rejections.reported).to.equal(false);
    rejections.report({ reason: 'KEY_EMPTY', trigger: 'retry', held, quiet: false });
    expect(log.lines.map((l) => l.level)).to.deep.equal(['debug', 'error']);
  });

  it('starts a new streak after clear()', () => {
    const log = captureLogger();
    const rejections = new RejectionLog(log.logger, 'k');
    rejections.report({ reason: 'KEY_EMPTY', trigger: 'a', held, quiet: false });
    rejections.clear();
    expect(rejections.reported).to.equal(false);
    rejections.report({ reason: 'KEY_EMPTY', trigger: 'b', held, quiet: false });
    expect(log.lines.map((l) => l.level)).to.deep.equal(['error', 'error']);
  });
});
