import type { CliOptions } from './args.js';
import type { Identity, TrustFinding } from '../core/file-trust.js';
import type { KeyLocation } from './key-location.js';
import type { ServerUrl } from './server-url.js';

/** Everything the CLI takes from its process, injected so tests need none. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  clock: () => Date;
  fetch?: typeof fetch;
  /** Who runs the CLI (effective uid, platform): files of other users are never written. */
  identity?: Identity;
  /** The package version, for --version. */
  version?: string;
}

/** One command's view of its run: the process, its options, the files it works on. */
export interface Context {
  io: CliIo;
  options: CliOptions;
  keyFile: string;
  /** Where the key file is and what named it (--key-file, QWEN_API_KEY_FILE or the default). */
  location: KeyLocation;
  /** The clients file: --clients-file, else QWEN_API_CLIENTS_FILE, else `.api_clients` beside the key file. */
  clientsFile: string;
  /** `test`: where the server is asked (--url, else the server's PORT and HOST, else the default). */
  server?: ServerUrl;
  /** What others than their owner can write, found before a reading command ran. */
  untrusted?: TrustFinding[];
}

/** How a command prints its notes on stderr. */
export function note(io: CliIo): (message: string) => void {
  return (message) => io.stderr(`manage-key: note: ${message}\n`);
}
