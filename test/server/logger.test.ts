import { expect } from 'chai';
import { Writable } from 'node:stream';
import { createLogger } from '../../src/server/logger.js';

/** A stream that keeps what it is given, as text. */
function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { stream, text: () => chunks.join('') };
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const plain = (text: string): string => text.replace(/\x1b\[[0-9;]*m/g, '');

describe('createLogger', () => {
  it('writes one JSON line per message: level, message, timestamp and the fields', () => {
    const out = sink();
    const logger = createLogger({ level: 'info', json: true, stream: out.stream });
    logger.info('listening', { port: 8000, url: 'http://127.0.0.1:8000' });
    const lines = out.text().split('\n').filter(Boolean);
    expect(lines).to.have.length(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).to.include({ level: 'info', message: 'listening', port: 8000, url: 'http://127.0.0.1:8000' });
    expect(line.timestamp).to.match(ISO_TIME);
  });

  it('drops messages below its level and keeps those at or above it', () => {
    const out = sink();
    const logger = createLogger({ level: 'warn', json: true, stream: out.stream });
    logger.info('quiet');
    logger.debug('quieter');
    logger.warn('heard');
    logger.error('heard too');
    const messages = out.text().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { message: string }).message);
    expect(messages).to.deep.equal(['heard', 'heard too']);
  });

  it('knows the npm levels, http among them (the access lines)', () => {
    const out = sink();
    const logger = createLogger({ level: 'http', json: true, stream: out.stream });
    logger.http('request', { status: 200 });
    logger.verbose('not at http');
    const lines = out.text().split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).to.have.length(1);
    expect(lines[0]).to.include({ level: 'http', message: 'request', status: 200 });
  });

  it('writes an Error logged as the message by its text, without a stack', () => {
    const out = sink();
    const logger = createLogger({ level: 'info', json: true, stream: out.stream });
    logger.error(new Error('boom'));
    const line = JSON.parse(out.text()) as Record<string, unknown>;
    expect(line).to.include({ level: 'error', message: 'boom' });
    expect(line).to.not.have.property('stack');
  });

  it('writes readable lines for a terminal: time, level, message, then the fields as JSON', () => {
    const out = sink();
    const logger = createLogger({ level: 'info', json: false, stream: out.stream });
    logger.warn('key file rejected', { reason: 'KEY_EMPTY' });
    logger.info('stopped');
    const lines = plain(out.text()).split('\n').filter(Boolean);
    expect(lines).to.have.length(2);
    const [time, ...rest] = lines[0]!.split(' ');
    expect(time).to.match(ISO_TIME);
    expect(rest.join(' ')).to.equal('warn key file rejected {"reason":"KEY_EMPTY"}');
    expect(lines[1]!.split(' ').slice(1).join(' ')).to.equal('info stopped');
  });

  it('writes an Error logged as the message by its text on a terminal too, without a stack', () => {
    const out = sink();
    const logger = createLogger({ level: 'info', json: false, stream: out.stream });
    logger.error(new Error('boom'));
    const text = plain(out.text());
    expect(text).to.match(/ error boom\n$/);
    expect(text).to.not.include('stack');
  });

  it('colours the level on a terminal', () => {
    const out = sink();
    const logger = createLogger({ level: 'info', json: false, stream: out.stream });
    logger.error('cannot start');
    expect(out.text()).to.include('\x1b[31merror\x1b[39m');
  });
});
