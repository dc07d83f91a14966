/**
 * A pino logger whose lines are collected as objects, for tests that assert on logs.
 * Test support only.
 */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';

/** A logger plus the records it wrote. */
export interface LogSink {
  logger: Logger;
  records: Record<string, unknown>[];
  /** Records whose `msg` equals `msg`. */
  find(msg: string): Record<string, unknown>[];
}

/**
 * Creates a {@link LogSink} at `level` (default `debug`); `redactPaths`: pino redaction paths
 * (censor `[redacted]`), to see log lines as the agent process writes them.
 */
export function createLogSink(level: pino.LevelWithSilent = 'debug', redactPaths?: readonly string[]): LogSink {
  const records: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (line.trim() !== '') records.push(JSON.parse(line) as Record<string, unknown>);
      }
      cb();
    },
  });
  const logger = pino({ level, ...(redactPaths ? { redact: { paths: [...redactPaths], censor: '[redacted]' } } : {}) }, stream);
  return { logger, records, find: (msg) => records.filter((r) => r['msg'] === msg) };
}
