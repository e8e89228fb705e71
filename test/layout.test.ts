import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

// The layout's rules, read off the source itself: which part may import which, who may touch
// `process`, and how long a module may grow. Breaking one fails the suite with the offending lines.

const SRC = resolve(import.meta.dirname, '../src');
/** The entry points: the only modules that touch `process` (argv, env, exit, signals, stdio). */
const ENTRY_POINTS = new Set(['server.ts', 'cli.ts']);
/** Which parts each part may import (itself included). */
const MAY_IMPORT: Record<string, readonly string[]> = {
  core: ['core'],
  cli: ['cli', 'core'],
  proxy: ['proxy', 'core'],
  server: ['server', 'proxy', 'core'],
  'cli.ts': ['cli', 'core'],
  'server.ts': ['server', 'core'],
};
const MAX_LINES = 170;

interface Module { path: string; text: string; code: string }

function modules(dir = SRC): Module[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return modules(path);
    if (!entry.name.endsWith('.ts')) return [];
    const text = readFileSync(path, 'utf8');
    return [{ path: relative(SRC, path), text, code: withoutComments(text) }];
  });
}

// Comments may mention `process` or quote an import; only code counts.
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '').replace(/\s\/\/ .*$/gm, '');
}

/** The part a module belongs to: its top folder under src/, or the entry point's own name. */
function partOf(path: string): string {
  return path.split('/')[0]!;
}

/** Relative import specifiers of a module (static, type-only, re-exports and dynamic), as src paths. */
export function importsOf(module: Module): string[] {
  const specifiers = [...module.code.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)'(\.{1,2}\/[^']+)'/g)].map((m) => m[1]!);
  return specifiers.map((spec) => relative(SRC, resolve(SRC, dirname(module.path), spec)).replace(/\.js$/, '.ts'));
}

/** Every import in `all` that crosses the layout's rules, as `from -> to`. */
export function forbiddenImports(all: readonly Module[]): string[] {
  return all.flatMap((module) => importsOf(module)
    .filter((target) => target.startsWith('..') || !MAY_IMPORT[partOf(module.path)]!.includes(partOf(target)))
    .map((target) => `${module.path} -> ${target}`));
}

/** Modules other than the entry points that use the `process` global, with the line. */
export function processUsers(all: readonly Module[]): string[] {
  return all.filter((m) => !ENTRY_POINTS.has(m.path)).flatMap((m) => m.code.split('\n')
    .filter((line) => /(?<![\w$.])process\s*[.[]|'node:process'|\bglobalThis\.process\b/.test(line))
    .map((line) => `${m.path}: ${line.trim()}`));
}

describe('layout: src/ in parts, and the rules between them', () => {
  const all = modules();

  it('holds the entry points and the four parts at the top of src/', () => {
    const top = readdirSync(SRC).sort();
    expect(top).to.deep.equal(['cli', 'cli.ts', 'core', 'proxy', 'server', 'server.ts']);
    for (const module of all) expect(MAY_IMPORT, module.path).to.have.property(partOf(module.path));
  });

  it('keeps the key core free of the CLI, the server and the proxy; the CLI free of the server; the proxy free of both programs', () => {
    expect(forbiddenImports(all)).to.deep.equal([]);
  });

  it('lets only the entry points touch process', () => {
    expect(processUsers(all)).to.deep.equal([]);
  });

  it(`keeps every module under ${MAX_LINES} lines`, () => {
    const long = all.map((m) => ({ path: m.path, lines: m.text.split('\n').length - 1 })).filter((m) => m.lines > MAX_LINES);
    expect(long).to.deep.equal([]);
  });

  it('finds a bad import, a process user and a relative climb out of src/ when there is one', () => {
    const bad: Module[] = [
      { path: 'core/x.ts', text: '', code: "import { createApp } from '../server/http/app.js';\nimport type { A } from './key.js';" },
      { path: 'cli/y.ts', text: '', code: "export { startDaemon } from '../server/daemon.js';\nconst m = await import('../proxy/forwarder.js');" },
      { path: 'proxy/z.ts', text: '', code: "import { x } from '../../test/helpers/app-server.js';\nconst e = process.env.X;" },
      { path: 'server/w.ts', text: '', code: "const p = worker.process.pid; import { a } from '../cli/args.js';" },
    ];
    expect(forbiddenImports(bad)).to.deep.equal([
      'core/x.ts -> server/http/app.ts',
      'cli/y.ts -> server/daemon.ts',
      'cli/y.ts -> proxy/forwarder.ts',
      'proxy/z.ts -> ../test/helpers/app-server.ts',
      'server/w.ts -> cli/args.ts',
    ]);
    expect(processUsers(bad)).to.deep.equal(['proxy/z.ts: const e = process.env.X;']);
  });
});
