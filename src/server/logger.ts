import winston from 'winston';
import type { Logger } from 'winston';

/** How to build the server's logger. */
export interface LoggerOptions {
  level: string;
  /** JSON lines (for machines) rather than readable colourised lines (for a terminal). */
  json: boolean;
  /** Where lines go: the entry point's stdout, or a test's capture. */
  stream: NodeJS.WritableStream;
}

/**
 * The server's winston logger. Messages are short constant phrases and details go in fields, so
 * `message === 'listening'` is something a script can wait for. Keys are only ever logged as fingerprints.
 */
export function createLogger(options: LoggerOptions): Logger {
  const { format } = winston;
  const readable = format.printf(({ level, message, timestamp, ...fields }) => {
    const extra = Object.keys(fields).length > 0 ? ' ' + JSON.stringify(fields) : '';
    return `${String(timestamp)} ${level} ${String(message)}${extra}`;
  });
  return winston.createLogger({
    level: options.level,
    levels: winston.config.npm.levels,
    format: options.json
      ? format.combine(format.timestamp(), format.errors({ stack: false }), format.json())
      : format.combine(format.timestamp(), format.errors({ stack: false }), format.colorize(), readable),
    transports: [new winston.transports.Stream({ stream: options.stream })],
    exitOnError: false,
  });
}
