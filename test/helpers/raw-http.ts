import { connect } from 'node:net';
import type { Socket } from 'node:net';

/** What came back on a raw connection: the first answer's status, everything read, and how it ended. */
export interface RawAnswer {
  /** Status of the first final answer (1xx skipped), 0 when none came. */
  status: number;
  text: string;
  /** `answered`: a whole answer arrived; `closed`: the server closed first; `timeout`: nothing decisive in time. */
  outcome: 'answered' | 'closed' | 'timeout';
}

/** Options for rawRequest. */
export interface RawOptions {
  timeoutMs?: number;
  /** Source address (any 127.x.y.z on Linux), to look like another client. */
  localAddress?: string;
  /** Keep the writing side open after the request (default: half-close, as a one-shot client does). */
  keepOpen?: boolean;
}

/** The status of the first final (non-1xx) answer in `text` and whether its whole body is in, if any. */
export function firstAnswer(text: string): { status: number; complete: boolean } | undefined {
  let at = 0;
  for (;;) {
    const head = /^HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/.exec(text.slice(at));
    const end = text.indexOf('\r\n\r\n', at);
    if (!head || end < 0) return head ? { status: Number(head[1]), complete: false } : undefined;
    const status = Number(head[1]);
    if (status >= 200) {
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(at, end + 2));
      return { status, complete: length !== null && text.length >= end + 4 + Number(length[1]) };
    }
    at = end + 4;
  }
}

/** Sends raw bytes on a fresh connection; resolves once one whole answer came, the server closed, or `timeoutMs` passed. */
export function rawRequest(port: number, request: string | Buffer, options: RawOptions = {}): Promise<RawAnswer> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: options.localAddress });
    let text = '';
    const done = (outcome: RawAnswer['outcome']): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: firstAnswer(text)?.status ?? 0, text, outcome });
    };
    const timer = setTimeout(() => done('timeout'), options.timeoutMs ?? 3000);
    socket.on('data', (chunk) => {
      text += chunk.toString('latin1');
      if (firstAnswer(text)?.complete) done('answered');
    });
    socket.on('error', () => done('closed'));
    socket.on('close', () => done(firstAnswer(text)?.complete ? 'answered' : 'closed'));
    if (options.keepOpen) socket.write(request);
    else socket.end(request);
  });
}

/** Opens a connection and resolves once it is established (rejects on error). */
export function openSocket(port: number, localAddress?: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Resolves when `socket` is closed by the other side (or errors), with how long that took; reads whatever comes meanwhile. */
export function closedBy(socket: Socket, timeoutMs: number): Promise<{ closed: boolean; ms: number }> {
  const start = Date.now();
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve({ closed: true, ms: 0 });
    socket.resume(); // 'end' comes only to a flowing stream
    const timer = setTimeout(() => finish(false), timeoutMs);
    const finish = (closed: boolean): void => {
      clearTimeout(timer);
      resolve({ closed, ms: Date.now() - start });
    };
    socket.once('end', () => finish(true));
    socket.once('close', () => finish(true));
    socket.once('error', () => finish(true));
  });
}
