#!/usr/bin/env node
/** The manage-key entry point: wires the process to the command layer and sets the exit code. */
import { readFile } from 'node:fs/promises';
import { runCli } from './cli/commands.js';

// A closed pipe (`manage-key history | head -1`) is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  clock: () => new Date(),
  identity: { uid: process.geteuid?.(), platform: process.platform },
  version,
});
