/**
 * A pino logger whose JSON lines are kept in memory, for suites that start the local stack
 * in-process and assert on (or print) its logs, without depending on pino themselves.
 */
import { Writable } from 'node:stream';
import pino, { type Logger } from 'pino';

/** A logger and the lines it wrote, parsed. */
export interface CollectedLogs {
  readonly logger: Logger;
  readonly lines: Record<string, unknown>[];
}

/** A logger at `level` (default `info`) keeping every line it writes in `lines`. */
export function collectedLogs(level = 'info'): CollectedLogs {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}
