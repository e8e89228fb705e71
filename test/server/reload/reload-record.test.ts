import { expect } from 'chai';
import { ReloadRecord } from '../../../src/server/reload/reload-record.js';
import type { ReloadEvent } from '../../../src/server/reload/reload-record.js';
import { captureLogger } from './helpers.js';

const at = (s: number): Date => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
const event = (outcome: ReloadEvent['outcome'], s: number, reason?: string): ReloadEvent => ({ outcome, trigger: `t${s}`, reason, at: at(s) });

describe('ReloadRecord', () => {
  it('has nothing before the first re-read, then that re-read, checked when it happened', () => {
    const record = new ReloadRecord(captureLogger().logger);
    expect(record.last).to.equal(undefined);
    record.note(event('unchanged', 1));
    expect(record.last).to.deep.equal({ ...event('unchanged', 1), checkedAt: at(1) });
  });

  it('keeps the last load through unchanged re-reads, moving only checkedAt', () => {
    const record = new ReloadRecord(captureLogger().logger);
    record.note(event('loaded', 1));
    record.note(event('unchanged', 2));
    record.note(event('unchanged', 3));
    expect(record.last).to.deep.equal({ ...event('loaded', 1), checkedAt: at(3) });
  });

  it('takes every load as news, even right after another', () => {
    const record = new ReloadRecord(captureLogger().logger);
    record.note(event('loaded', 1));
    record.note(event('loaded', 2));
    expect(record.last).to.deep.include({ trigger: 't2', at: at(2) });
  });

  it('keeps the first of a run of rejections for the same reason, so `at` says since when', () => {
    const record = new ReloadRecord(captureLogger().logger);
    record.note(event('loaded', 1));
    record.note(event('rejected', 2, 'KEY_EMPTY'));
    record.note(event('rejected', 3, 'KEY_EMPTY'));
    expect(record.last).to.deep.equal({ ...event('rejected', 2, 'KEY_EMPTY'), checkedAt: at(3) });
    record.note(event('rejected', 4, 'KEY_TOO_LARGE'));
    expect(record.last).to.deep.include({ reason: 'KEY_TOO_LARGE', at: at(4) });
  });

  it('takes the file found good again after a rejection as news', () => {
    const record = new ReloadRecord(captureLogger().logger);
    record.note(event('loaded', 1));
    record.note(event('rejected', 2, 'KEY_EMPTY'));
    record.note(event('unchanged', 3));
    expect(record.last).to.deep.equal({ ...event('unchanged', 3), checkedAt: at(3) });
    record.note(event('unchanged', 4));
    expect(record.last).to.deep.equal({ ...event('unchanged', 3), checkedAt: at(4) });
  });

  it('tells its listener of every re-read, and logs a listener that throws without failing', () => {
    const log = captureLogger();
    const heard: string[] = [];
    const record = new ReloadRecord(log.logger, (e) => {
      heard.push(e.trigger);
      if (e.trigger === 't2') throw new Error('metrics broke');
    });
    record.note(event('loaded', 1));
    expect(() => record.note(event('unchanged', 2))).to.not.throw();
    record.note(event('unchanged', 3));
    expect(heard).to.deep.equal(['t1', 't2', 't3']);
    expect(log.lines).to.deep.equal([{ level: 'warn', message: 'reload listener failed', error: 'metrics broke' }]);
    expect(record.last).to.deep.include({ checkedAt: at(3) });
  });
});
