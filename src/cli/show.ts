import { KeyFileError } from '../core/errors.js';
import { DEVELOPMENT_KEY, parseKey } from '../core/key.js';
import { readKeyFile } from '../core/key-file.js';
import type { KeyLocation } from './key-location.js';
import { notFoundLine } from './key-location.js';

/** The key `show` prints, and a note for stderr when it does not come from the key file. */
export type ShownKey = { key: string; note?: string } | { failure: string };

/**
 * The key a server started here, with this environment, would use, in the server's order: the key
 * file; else QWEN_API_KEY; else, with NODE_ENV=development, the fixed development key. Only the key
 * goes to stdout; where it came from, when not the key file, goes to stderr.
 */
export async function keyToShow(location: KeyLocation, env: Readonly<Record<string, string | undefined>>): Promise<ShownKey> {
  try {
    return { key: await readKeyFile(location.path) };
  } catch (err) {
    if (!(err instanceof KeyFileError && err.code === 'KEY_MISSING')) throw err;
  }
  const noFile = `no key file at ${location.path}`;
  if (env.QWEN_API_KEY) {
    try {
      return { key: parseKey(env.QWEN_API_KEY), note: `${noFile}; printed QWEN_API_KEY from the environment, the key a server started with it uses` };
    } catch (err) {
      return { failure: `${noFile}, and QWEN_API_KEY is not a valid key (${(err as KeyFileError).code}): a server started with it exits 2` };
    }
  }
  if (env.NODE_ENV === 'development') {
    return {
      key: DEVELOPMENT_KEY,
      note: `${noFile}; printed the fixed, insecure development key that a server started with NODE_ENV=development `
        + 'uses (it is public: never use it for anything real; "manage-key generate" makes a real key)',
    };
  }
  return { failure: await notFoundLine('no key file', location.path, location) };
}
