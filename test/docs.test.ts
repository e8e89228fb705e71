import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { SANE_REQUEST_ID } from '../src/proxy/request-id.js';
import { USAGE } from '../src/server/config.js';

// The documents promise what the code does: every log line the code can write is in docs/server.md's
// table (and nothing else is), and the request-id alphabet and the upstream limits are described with
// the code's own characters, flags and defaults.

const ROOT = resolve(import.meta.dirname, '..');
const LEVELS = 'error|warn|info|http|verbose|debug|silly';

/** One log call found in the source: where, and its message with `${...}` parts shown as `...`. */
export interface LogCall { where: string; message: string }

/** Every logger call in `files` (`logger.info('...')`, `log.warn(...)`, `logger.log(level, a ? 'x' : 'y')`). */
export function logCalls(files: ReadonlyArray<{ path: string; text: string }>): LogCall[] {
  const calls: LogCall[] = [];
  const call = new RegExp(`\\b(?:logger|log)\\s*\\.\\s*(?:(?:${LEVELS})\\s*\\(|log\\s*\\(\\s*[^,()]+,)\\s*`, 'g');
  for (const { path, text } of files) {
    for (const match of text.matchAll(call)) {
      const where = `${path}:${text.slice(0, match.index).split('\n').length}`;
      const messages = messageArgument(text.slice(match.index + match[0].length));
      if (messages.length === 0) calls.push({ where, message: '<not a literal: name the message in the call>' });
      for (const message of messages) calls.push({ where, message });
    }
  }
  return calls;
}

// A string literal, a template (its `${...}` parts become `...`), or `cond ? literal : literal`.
function messageArgument(rest: string): string[] {
  const literal = String.raw`'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|` + '`(?:[^`\\\\]|\\\\.)*`';
  const single = new RegExp(`^(${literal})\\s*[,)]`).exec(rest);
  if (single) return [unquote(single[1]!)];
  const ternary = new RegExp(`^[^?,()'"\`]+\\?\\s*(${literal})\\s*:\\s*(${literal})`).exec(rest);
  return ternary ? [unquote(ternary[1]!), unquote(ternary[2]!)] : [];
}

function unquote(literal: string): string {
  return literal.slice(1, -1).replace(/\$\{[^}]*\}/g, '...').replace(/\\(.)/g, '$1');
}

/** The messages of a markdown table whose first column holds them in backticks (several joined by ` / `). */
export function tableMessages(markdown: string, heading: string): string[] {
  const section = markdown.split(/^## /m).find((part) => part.startsWith(heading)) ?? '';
  return section.split('\n').filter((line) => line.startsWith('| `'))
    .flatMap((line) => [...line.split(' | ')[0]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!));
}

/** Rows matching no logged message (stale) and logged messages matching no row (missing); `...` in a row matches any text. */
export function compareLogTable(calls: readonly LogCall[], rows: readonly string[]): { missing: string[]; stale: string[] } {
  const pattern = (row: string) => new RegExp(`^${row.split('...').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  const covers = (row: string, message: string) => pattern(row).test(message);
  return {
    missing: [...new Set(calls.filter((c) => !rows.some((row) => covers(row, c.message))).map((c) => `${c.message} (${c.where})`))],
    stale: rows.filter((row) => !calls.some((c) => covers(row, c.message))),
  };
}

function sources(dir = join(ROOT, 'src')): Array<{ path: string; text: string }> {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') ? [{ path: relative(ROOT, path), text: readFileSync(path, 'utf8') }] : [];
  });
}

const doc = (name: string) => readFileSync(join(ROOT, 'docs', name), 'utf8');

describe('docs agree with the code', () => {
  it('docs/server.md lists every log line the code can write, and no other', () => {
    const calls = logCalls(sources());
    expect(calls.length, 'log calls found in src/').to.be.above(30);
    expect(compareLogTable(calls, tableMessages(doc('server.md'), 'Log lines'))).to.deep.equal({ missing: [], stale: [] });
  });

  it('the log-line check finds missing and stale rows, templates and both sides of a ternary', () => {
    const calls = logCalls([{ path: 'x.ts', text: [
      "logger.info('listening', { port });",
      'this.#o.logger.warn(`key is shorter than ${N} characters; rotate it`, {});',
      "log.error('worker died', {});",
      "this.#logger.log(level, held ? 'kept' : 'not ready', {});",
      'logger.debug(message);',
    ].join('\n') }]);
    expect(calls.map((c) => c.message)).to.deep.equal([
      'listening', 'key is shorter than ... characters; rotate it', 'worker died', 'kept', 'not ready', '<not a literal: name the message in the call>',
    ]);
    expect(compareLogTable(calls.slice(0, 5), ['listening', 'key is shorter than ... characters; ...', 'kept', 'gone'])).to.deep.equal({
      missing: ['worker died (x.ts:3)', 'not ready (x.ts:4)'], stale: ['gone'],
    });
  });

  it('both documents give the client request-id alphabet the code accepts', () => {
    const printable = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i));
    const accepted = printable.filter((c) => SANE_REQUEST_ID.test(c)).join('');
    const described = (text: string) => {
      const chars = /`A-Z a-z 0-9 ([^`]+)`/.exec(text)?.[1]?.split(' ') ?? [];
      return printable.filter((c) => /[A-Za-z0-9]/.test(c) || chars.includes(c)).join('');
    };
    expect(described(doc('server.md')), 'docs/server.md').to.equal(accepted);
    expect(described(doc('upstream.md')), 'docs/upstream.md').to.equal(accepted);
    expect(SANE_REQUEST_ID.test('x'.repeat(128)) && !SANE_REQUEST_ID.test('x'.repeat(129))).to.equal(true);
    expect(doc('upstream.md')).to.include('1-128 characters');
  });

  it('docs/upstream.md\'s limits table names the server\'s flags, variables and defaults', () => {
    const rows = doc('upstream.md').split('\n').filter((line) => /^\| `--/.test(line));
    expect(rows.map((row) => /^\| `(--[\w-]+)/.exec(row)?.[1])).to.deep.equal(['--upstream-timeout', '--max-body', '--write-timeout']);
    for (const row of rows) {
      const [flag, variable, fallback] = [...row.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
      const usage = USAGE.split('\n').find((line) => line.trimStart().startsWith(`${flag!.split(' ')[0]} `)) ?? '';
      expect(usage, `${flag} in --help`).to.include(variable!);
      expect(usage, `${flag}'s default`).to.include(`(${fallback}`);
    }
  });
});
