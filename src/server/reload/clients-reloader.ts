import type { Logger } from 'winston';
import { readClientsBytes } from '../../core/clients-file.js';
import { parseClients } from '../../core/clients-format.js';
import type { ParsedLines } from '../../core/clients-format.js';
import { formatDuration } from '../../core/duration.js';
import { KeyFileError, isErrnoCode } from '../../core/errors.js';
import { FileReads } from '../../core/regular-file.js';
import { ClientTable } from './client-table.js';
import { coalesced } from './coalesce.js';
import type { KeyStore } from './key-store.js';
import { ReloadRecord } from './reload-record.js';
import type { ReloadEvent } from './reload-record.js';

/** What a ClientsReloader needs. */
export interface ClientsReloaderOptions {
  clientsFile: string;
  store: KeyStore;
  /** The server's --grace, for rotations that set no window of their own. */
  graceMs: number;
  /** The server's --max-grace: no previous key's window lasts longer. */
  maxGraceMs: number;
  logger: Logger;
  reads?: FileReads;
  clock?: () => number;
  onReload?: (event: ReloadEvent) => void;
  /** Delay of the one extra re-read after a missing or unusable file (a write in progress). */
  retryMs?: number;
}

/**
 * Loads the clients file into the key store, at start and on every trigger of the key file's watch: one
 * read, and when the bytes changed, one parse and one swap of the whole set. Reloads never overlap. A file
 * that cannot be used keeps the last good set (logged at error once per streak, counted, shown in health);
 * a missing file means no named keys. Both are looked at once more shortly before they count, since a
 * replacement in progress (truncate then write, delete then re-create) passes through them.
 */
export class ClientsReloader {
  readonly #o: ClientsReloaderOptions;
  readonly #reads: FileReads;
  readonly #record: ReloadRecord;
  readonly #serial: (trigger: string) => Promise<ReloadEvent>;
  readonly #clock: () => number;
  #bytes: Buffer | undefined;
  // The lines of the last good file and their records: a change to one client parses one line.
  #lines: ParsedLines = {};
  #reported: string | undefined;
  #retry: NodeJS.Timeout | undefined;

  constructor(options: ClientsReloaderOptions) {
    this.#o = options;
    this.#reads = options.reads ?? new FileReads();
    this.#clock = options.clock ?? Date.now;
    this.#record = new ReloadRecord(options.logger, options.onReload);
    this.#serial = coalesced((trigger) => this.#attempt(trigger).catch((err: unknown) => this.#reject(trigger, err)));
  }

  /** The last reload that did something, with the time of the latest re-read. */
  get lastReload(): ReloadEvent | undefined {
    return this.#record.last;
  }

  /** Re-reads the clients file now; serialised and coalesced, never rejects. */
  reload(trigger: string): Promise<ReloadEvent> {
    return this.#serial(trigger);
  }

  /** Cancels a pending re-read. */
  close(): void {
    clearTimeout(this.#retry);
  }

  async #attempt(trigger: string): Promise<ReloadEvent> {
    const started = performance.now();
    const bytes = await readClientsBytes(this.#o.clientsFile, this.#reads);
    if (bytes === undefined) return this.#missing(trigger);
    if (this.#bytes?.equals(bytes)) {
      if (this.#reported) this.#o.logger.info('clients file valid again', { clientsFile: this.#o.clientsFile, trigger });
      return this.#emit('unchanged', trigger);
    }
    const table = new ClientTable(parseClients(bytes, this.#lines), this.#o);
    this.#o.store.swapClients(table);
    this.#bytes = bytes;
    const { active, expired, previousKeys } = table.describe(this.#clock());
    this.#o.logger.info('clients loaded', {
      clients: table.size, active, expired, previousKeys, trigger, ms: Math.round((performance.now() - started) * 100) / 100,
    });
    if (table.windowsCut > 0) {
      this.#o.logger.error('client windows longer than --max-grace; cut to it', { count: table.windowsCut, maxGrace: formatDuration(this.#o.maxGraceMs) });
    }
    return this.#emit('loaded', trigger);
  }

  #missing(trigger: string): ReloadEvent {
    const { store, logger, clientsFile } = this.#o;
    if (this.#bytes === undefined && store.clients.size === 0) return this.#emit('unchanged', trigger);
    if (this.#later(trigger)) return this.#emit('unchanged', trigger);
    store.swapClients(ClientTable.EMPTY);
    this.#bytes = undefined;
    logger.info('clients file missing; no named keys', { clientsFile, trigger });
    return this.#emit('loaded', trigger);
  }

  #reject(trigger: string, err: unknown): ReloadEvent {
    const reason = err instanceof KeyFileError ? err.code.replace('KEY_', 'CLIENTS_') : isErrnoCode(err) ? err.code! : 'CLIENTS_UNREADABLE';
    // Content may be half written (an in-place rewrite of a large file): look once more before calling it an error.
    const quiet = this.#reported === reason || this.#later(trigger);
    if (!quiet) this.#reported = reason;
    this.#o.logger.log(quiet ? 'debug' : 'error', 'clients file rejected; keeping the last good set', {
      reason, trigger, clientsFile: this.#o.clientsFile, clients: this.#o.store.clients.size,
    });
    return this.#emit('rejected', trigger, reason);
  }

  // Schedules the one re-read that decides, unless this read is it; true when it was scheduled.
  #later(trigger: string): boolean {
    if (trigger === 'retry') return false;
    clearTimeout(this.#retry);
    this.#retry = setTimeout(() => void this.reload('retry'), this.#o.retryMs ?? 50).unref();
    return true;
  }

  #emit(outcome: ReloadEvent['outcome'], trigger: string, reason?: string): ReloadEvent {
    if (outcome !== 'rejected') this.#reported = undefined;
    const event: ReloadEvent = { outcome, trigger, at: new Date(this.#clock()), ...(reason === undefined ? {} : { reason }) };
    this.#record.note(event);
    return event;
  }
}
