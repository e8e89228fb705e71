import type { Logger } from 'winston';
import { KeyFileError } from '../../core/errors.js';
import { DEVELOPMENT_KEY, parseKey } from '../../core/key.js';
import { readKeyFile } from '../../core/key-file.js';
import { generateKeyFile } from '../../core/key-ops.js';
import type { KeySource } from '../../core/key-set.js';
import type { Identity } from '../../core/file-trust.js';
import type { FileReads } from '../../core/regular-file.js';

export { DEVELOPMENT_KEY };

/** Where the first key comes from. */
export interface InitialKeyEnv {
  /** QWEN_API_KEY, if set. */
  apiKey?: string;
  /** NODE_ENV=development. */
  development: boolean;
  /** A command that shows a generated key, as the operator would type it (named in the first-run log line). */
  showKeyCommand?: string;
}

/** QWEN_API_KEY is set but holds no valid key: bad configuration, the daemon exits 2. */
export class InvalidEnvKeyError extends KeyFileError {}

/** A first run could not write its new key into the key file (e.g. a directory it may not create). */
export class FirstKeyError extends Error {
  constructor(readonly keyFile: string, options: { cause: unknown }) {
    super(`cannot generate a first-run key into ${keyFile}: ${(options.cause as Error)?.message ?? String(options.cause)}`, options);
    this.name = 'FirstKeyError';
  }
}

/** The first key found, or why the key file present could not be used. */
export type InitialKey = { key: string; source: KeySource } | { error: KeyFileError };

/**
 * Finds the first key by source order: key file, env key, development key, else a new key
 * generated into the key file. A key file that exists but cannot be used is reported, never
 * overwritten: the operator's file is fixed by the operator.
 */
export async function resolveInitialKey(options: {
  keyFile: string;
  env: InitialKeyEnv;
  logger: Logger;
  clock: () => number;
  reads?: FileReads;
  identity?: Identity;
}): Promise<InitialKey> {
  const { keyFile, env, logger, reads } = options;
  const fromFile = await readFileKey(keyFile, reads);
  if (fromFile.error?.code !== 'KEY_MISSING') return fromFile;

  if (env.apiKey !== undefined && env.apiKey !== '') {
    try {
      return { key: parseKey(env.apiKey), source: 'env' };
    } catch (err) {
      const reason = err instanceof KeyFileError ? err.code : 'KEY_INVALID_CHARS';
      throw new InvalidEnvKeyError(reason, `QWEN_API_KEY is not a valid key: ${(err as Error).message.replace(/^key (file )?/, 'it ')} (${reason})`, { cause: err });
    }
  }
  if (env.development) {
    logger.warn('USING THE INSECURE DEVELOPMENT KEY: no key file and no QWEN_API_KEY; never run like this outside development', {
      source: 'development',
      keyFile,
    });
    return { key: DEVELOPMENT_KEY, source: 'development' };
  }
  try {
    const key = await generateKeyFile({
      keyFile,
      clock: () => new Date(options.clock()),
      onNote: (note) => logger.warn('first-run key file written in place', { keyFile, note }),
      identity: options.identity,
    });
    logger.info(`generated a new API key into the key file; see it with: ${env.showKeyCommand ?? 'manage-key show'}`, { keyFile });
    return { key, source: 'generated' };
  } catch (err) {
    // Another process created the file between our read and the generation: use theirs.
    if (err instanceof KeyFileError && err.code === 'KEY_EXISTS') return readFileKey(keyFile, reads);
    throw new FirstKeyError(keyFile, { cause: err });
  }
}

async function readFileKey(keyFile: string, reads?: FileReads): Promise<{ key: string; source: KeySource; error?: undefined } | { error: KeyFileError }> {
  try {
    return { key: await readKeyFile(keyFile, reads), source: 'file' };
  } catch (err) {
    if (err instanceof KeyFileError) return { error: err };
    return { error: new KeyFileError('KEY_UNREADABLE', `key file ${keyFile} cannot be read`, { cause: err }) };
  }
}
