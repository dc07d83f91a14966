/**
 * The PBL/1 `TOTALS` exchange (docs/protocol/terminal-line.md "TOTALS"): write
 * `TOTALS <rid> [date=YYYYMMDD]`, read until the terminal's `TOTALS` answer of that rid. A NAK or
 * no answer within `timeoutMs` resends the same line (same rid: the request changes nothing on
 * the terminal), up to `attempts` times; `ERR code=UNSUPPORTED` means the terminal has no totals.
 * Lines about other rids are ignored. Used by `posbridge-agent totals` on a port the running
 * agent does not hold (../../totals-command.ts).
 */
import type { Duplex } from 'node:stream';
import { ReadlineParser } from '@serialport/parser-readline';
import { CodedError } from '@posbridge/protocol/errors';
import { decodeTerminalLine, encodeLine, LINE_DELIMITER, type LineTotalsEntry } from '@posbridge/protocol/terminal';

/** Options of {@link requestLineTotals}. */
export interface LineTotalsOptions {
  readonly rid: string;
  /** `YYYYMMDD`; absent: the terminal's today. */
  readonly date?: string;
  /** Wait for an answer per attempt, ms. */
  readonly timeoutMs: number;
  /** Attempts before giving up. */
  readonly attempts: number;
}

/**
 * Asks the terminal on `stream` for its totals.
 * @returns the day the terminal reported and its lines.
 * @throws CodedError `TERM_TIMEOUT` (no answer), `TERM_BAD_LINE` (the terminal refused the request
 *   or has no totals: `ERR`, with its code in `details`).
 */
export async function requestLineTotals(stream: Duplex, opts: LineTotalsOptions): Promise<{ date: string; entries: LineTotalsEntry[] }> {
  const parser = new ReadlineParser({ delimiter: LINE_DELIMITER, encoding: 'utf8' });
  stream.pipe(parser);
  const request = encodeLine({ verb: 'TOTALS', rid: opts.rid, ...(opts.date === undefined ? {} : { date: opts.date }) });
  try {
    for (let attempt = 1; attempt <= opts.attempts; attempt++) {
      const answer = await new Promise<{ date: string; entries: LineTotalsEntry[] } | 'resend'>((resolve, reject) => {
        const timer = setTimeout(() => finish(() => resolve('resend')), opts.timeoutMs);
        const onLine = (text: string) => {
          const decoded = decodeTerminalLine(text);
          if (!decoded.ok || decoded.value.rid !== opts.rid) return;
          const line = decoded.value;
          if (line.verb === 'TOTALS') finish(() => resolve({ date: line.date, entries: line.entries }));
          else if (line.verb === 'NAK') finish(() => resolve('resend'));
          else if (line.verb === 'ERR') {
            finish(() =>
              reject(
                new CodedError('TERM_BAD_LINE', line.code === 'UNSUPPORTED' ? 'this terminal does not report totals (ERR UNSUPPORTED)' : `terminal refused TOTALS: ERR ${line.code}${line.message ? ` ${line.message}` : ''}`, {
                  details: { code: line.code },
                }),
              ),
            );
          }
        };
        const finish = (then: () => void) => {
          clearTimeout(timer);
          parser.off('data', onLine);
          then();
        };
        parser.on('data', onLine);
        stream.write(request, (err) => {
          if (err) finish(() => reject(new CodedError('TERM_DISCONNECTED', `could not write TOTALS: ${err.message}`)));
        });
      });
      if (answer !== 'resend') return answer;
    }
    throw new CodedError('TERM_TIMEOUT', `terminal did not answer TOTALS (${opts.attempts} attempts of ${opts.timeoutMs} ms)`);
  } finally {
    stream.unpipe(parser);
  }
}
