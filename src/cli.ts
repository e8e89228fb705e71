#!/usr/bin/env node
/** The manage-key entry point: wires the process to the command layer and sets the exit code. */
import { runCli } from './cli/commands.js';

// A closed pipe (`manage-key history | head -1`) is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  env: process.env,
  cwd: process.cwd(),
  clock: () => new Date(),
  identity: { uid: process.geteuid?.(), platform: process.platform },
});
