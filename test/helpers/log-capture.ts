// The one capture behind the key-leak guard. Every logger a test creates (the app's, a proxy's, a
// reloader's, a connection guard's) writes through captureStream or captureLogger, and every process a
// test starts (the daemon, the CLI's stderr, a fixture) hands its output to collect(). At the end of the
// run test/helpers/leak-guard.ts looks for every registered key, and for anything shaped like a
// generated key, in all of it.
import { Writable } from 'node:stream';
import winston from 'winston';
import type { Logger } from 'winston';

/** What was collected while each test ran (by full title; '' outside any test). */
const collected = new Map<string, string[]>();
const secrets = new Set<string>();
let running = '';

/** Names the test now running, so a leak is reported with the test that wrote it. */
export function testStarted(title: string): void {
  running = title;
}

/** Remembers a key so the guard can prove nothing collected ever held it. */
export function registerSecret(key: string): void {
  secrets.add(key);
}

/** Adds `text` (a log line, a chunk of a process's output) to what the guard checks. */
export function collect(text: string): void {
  const list = collected.get(running);
  if (list) list.push(text);
  else collected.set(running, [text]);
}

// A generated key is qwk_ and 43 base64url characters; test keys are as long. The match stops at the
// first character no generated key has, so a key inside JSON or a sentence is found as well.
const KEY_SHAPED = /qwk_[A-Za-z0-9_-]{40,}/;

/** Where key material was collected: one line per test, naming registered keys only by prefix and length. */
export function leakedSecrets(): string[] {
  const found: string[] = [];
  for (const [test, chunks] of collected) {
    const text = chunks.join('');
    const keys = [...secrets].filter((key) => text.includes(key));
    const what = keys.length > 0 ? `${keys.length} registered key(s), e.g. ${keys[0]!.slice(0, 4)}… (length ${keys[0]!.length})`
      : KEY_SHAPED.test(text) ? 'a generated-looking qwk_ key' : undefined;
    if (what) found.push(`${test || 'outside any test'}: ${what}`);
  }
  // Judged once: under mocha --parallel the guard runs after each file, in a worker that runs others after it.
  collected.clear();
  return found;
}

/** Bytes collected so far (how much the guard looks at). */
export function collectedBytes(): number {
  let total = 0;
  for (const chunks of collected.values()) for (const chunk of chunks) total += chunk.length;
  return total;
}

/** A stream that collects every chunk written to it and hands it, as text, to `onText`. */
export function captureStream(onText: (text: string) => void = () => {}): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, callback) {
      const text = String(chunk);
      collect(text);
      onText(text);
      callback();
    },
  });
}

/** A captured logger and what it wrote. */
export interface CapturedLogger {
  logger: Logger;
  /** Every JSON line written so far. */
  readonly lines: Array<Record<string, unknown>>;
  /** Everything written so far, as text. */
  text(): string;
}

/**
 * A logger at `level` (debug by default, so every line a test could provoke is written and checked) writing
 * bare JSON lines (no timestamp, so a test can compare whole lines).
 */
export function captureLogger(level = 'debug'): CapturedLogger {
  const raw: string[] = [];
  const logger = winston.createLogger({
    level,
    format: winston.format.json(),
    transports: [new winston.transports.Stream({ stream: captureStream((text) => raw.push(text)) })],
  });
  return {
    logger,
    get lines() {
      return raw.join('').split('\n').filter((line) => line.trim()).map((line) => JSON.parse(line) as Record<string, unknown>);
    },
    text: () => raw.join(''),
  };
}
