/**
 * Driver for terminals speaking the posbridge line dialect PBL/1 (newline-framed text lines
 * with a CRC, see docs/protocol/terminal-line.md and `@posbridge/protocol/terminal`).
 *
 * The safety argument rests on the dialect's `rid` rule: the terminal keys transactions by
 * `rid`, a repeated SALE with a known `rid` never charges twice, and STATUS recovers the
 * outcome of a lost RESULT. So the driver may always resend, and it never guesses:
 *
 *   SALE ──▶ ACK ────────────────────────────▶ wait RESULT ──▶ RESULT (echo checked) ──▶ result
 *    │  NAK / no ACK: resend same SALE (≤ saleAttempts)   │ timeout / link lost / bad echo
 *    │  ERR BUSY (or other ERR): refused ──▶ rejected     ▼
 *    └─ still no ACK ───────────────────────────▶ STATUS rid (≤ statusAttempts, backoff, reopen)
 *                                                   │ RESULT   ──▶ result
 *                                                   │ PROGRESS ──▶ wait RESULT again
 *                                                   │ NOT_FOUND, never ACKed ──▶ rejected (nothing charged)
 *                                                   │ NOT_FOUND after an ACK ──▶ unknown (contradiction)
 *                                                   └ no answer ──▶ unknown
 *
 * Lines that fail to decode are logged at warn with their text and ignored; lines for other
 * `rid`s are logged at debug and ignored.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { backoff } from '@posbridge/kit/backoff';
import { SerialQueue } from '@posbridge/kit/serial-queue';
import { ReadlineParser } from '@serialport/parser-readline';
import { CodedError, toError } from '@posbridge/protocol/errors';
import { currencyInfo } from '@posbridge/protocol/money';
import {
  LINE_DELIMITER,
  LINE_DIALECT,
  decodeTerminalLine,
  encodeLine,
  type HostLine,
  type ResultLine,
  type ReverseLine,
  type SaleLine,
} from '@posbridge/protocol/terminal';
import { newRid } from '../../session/ids.ts';
import type {
  AbortAttempt,
  SaleHooks,
  SaleOutcome,
  SaleRequest,
  StatusCheck,
  TerminalDriver,
  TerminalIdentity,
  TerminalSaleResult,
} from '../terminal-driver.ts';
import { Mailbox } from './mailbox.ts';
import { TerminalPort } from '../../transports/terminal-port.ts';

/** Timers and retry counts of the line driver (all durations in milliseconds). */
export interface LineDriverTimings {
  /** Wait for the IDENT answer. */
  identTimeoutMs: number;
  /** Wait for ACK after each SALE. */
  ackTimeoutMs: number;
  /** SALE sends before falling back to STATUS. */
  saleAttempts: number;
  /** Wait for RESULT after the ACK (and after each PROGRESS answer to STATUS). */
  resultTimeoutMs: number;
  /** Wait for the answer to one STATUS. */
  statusTimeoutMs: number;
  /** STATUS attempts before giving up with `unknown`. */
  statusAttempts: number;
  /** Delay before the 2nd STATUS; doubles per attempt, capped at 10×. */
  statusBackoffMs: number;
}

/** Options of {@link LineDriver}. */
export interface LineDriverOptions {
  /** Opens the terminal's byte stream; called again to reopen after the link drops. */
  open: () => Promise<Duplex>;
  /** Parent logger; the driver logs under `component: 'driver'`. */
  logger: Logger;
  timings: LineDriverTimings;
  /** Serial number used in logs until IDENT answers (the configured one, if any). */
  serialNumber?: string;
}

/** Number of IDENT requests before giving up. */
const IDENT_ATTEMPTS = 3;
/** Longest line the reader keeps; longer garbage is dropped with a warning. */
const MAX_BUFFERED_LINE = 4096;

type WaitOutcome = { kind: 'outcome'; outcome: SaleOutcome } | { kind: 'lost'; reason: string };
type RecoverOutcome = { kind: 'outcome'; outcome: SaleOutcome } | { kind: 'running' } | { kind: 'failed'; reason: string };

/** PBL/1 implementation of {@link TerminalDriver}. */
export class LineDriver implements TerminalDriver {
  /** @inheritdoc */
  readonly dialect = LINE_DIALECT;
  /** @inheritdoc PBL/1 has STATUS. */
  readonly hasStatusQuery = true;
  readonly #log: Logger;
  readonly #t: LineDriverTimings;
  #serial: string | undefined;
  readonly #port: TerminalPort;
  #closed = false;
  readonly #mailboxes = new Map<string, Mailbox>();
  readonly #sleepers = new Set<() => void>();
  readonly #queue = new SerialQueue();

  constructor(opts: LineDriverOptions) {
    this.#log = opts.logger.child({ component: 'driver' });
    this.#t = opts.timings;
    this.#serial = opts.serialNumber;
    this.#port = new TerminalPort({
      open: opts.open,
      onAttach: (stream) => {
        const parser = new ReadlineParser({ delimiter: LINE_DELIMITER, encoding: 'utf8' });
        stream.pipe(parser);
        parser.on('data', (text: string) => this.#onText(text));
        return () => stream.unpipe(parser);
      },
      // Every waiting exchange learns the link is gone, also when the driver is closing.
      onGone: () => {
        for (const mb of this.#mailboxes.values()) mb.pushClosed();
      },
      logger: this.#log,
      serialNumber: () => this.#serial,
    });
  }

  /** @inheritdoc `p` + 16 base32 chars. */
  newReference(): string {
    return newRid('p');
  }

  /**
   * @inheritdoc Writes `ABORT rid` at once, outside the one-at-a-time queue (the sale holds
   * it). The terminal answers on the sale's `rid`, so the running `sale()` sees the
   * `RESULT status=aborted` (or the approval that came first).
   */
  async abort(request: SaleRequest): Promise<AbortAttempt> {
    const sent = await this.#send({ verb: 'ABORT', rid: request.rid }, new Mailbox());
    if (sent !== true) {
      this.#log.warn({ paymentId: request.paymentId, rid: request.rid, problem: sent }, 'could not send ABORT');
      return 'failed';
    }
    this.#log.info({ paymentId: request.paymentId, rid: request.rid }, 'abort sent to the terminal');
    return 'sent';
  }

  /** @inheritdoc */
  identify(): Promise<TerminalIdentity> {
    return this.#exclusive(async () => {
      let lastProblem = 'no answer';
      for (let attempt = 1; attempt <= IDENT_ATTEMPTS; attempt++) {
        const rid = newRid('i');
        const mb = this.#subscribe(rid);
        try {
          const sent = await this.#send({ verb: 'IDENT', rid }, mb);
          if (sent !== true) {
            lastProblem = sent;
            if (this.#closed) break;
            await this.#sleep(this.#t.identTimeoutMs);
            continue;
          }
          const item = await this.#nextAnswer(mb, this.#t.identTimeoutMs);
          if (typeof item === 'string') {
            lastProblem = item === 'timeout' ? `no answer within ${this.#t.identTimeoutMs} ms` : 'link closed';
            continue;
          }
          const { line } = item;
          if (line.verb === 'IDENT' && 'serial' in line) {
            if (line.dialect !== undefined && line.dialect !== LINE_DIALECT) {
              throw new CodedError('TERM_MISMATCH', `terminal speaks ${line.dialect}, not ${LINE_DIALECT}`, {
                details: { serialNumber: line.serial },
              });
            }
            this.#serial = line.serial;
            return {
              serialNumber: line.serial,
              serialSource: 'device',
              dialect: LINE_DIALECT,
              ...(line.model !== undefined ? { model: line.model } : {}),
              ...(line.vendor !== undefined ? { vendor: line.vendor } : {}),
              ...(line.firmware !== undefined ? { firmware: line.firmware } : {}),
            };
          }
          lastProblem = `unexpected answer: ${item.raw}`;
        } finally {
          this.#unsubscribe(rid);
        }
      }
      throw new CodedError('TERM_TIMEOUT', `terminal did not answer IDENT (${lastProblem})`, {
        details: { attempts: IDENT_ATTEMPTS },
      });
    });
  }

  /** @inheritdoc */
  sale(request: SaleRequest, hooks: SaleHooks = {}): Promise<SaleOutcome> {
    return this.#exclusive(async () => {
      const outcome = await this.#runSale(request, hooks);
      const logged = outcome.kind === 'result' ? outcome.result.outcome : outcome.kind;
      this.#log.info({ paymentId: request.paymentId, rid: request.rid, outcome: logged }, 'terminal result');
      return outcome;
    });
  }

  /** @inheritdoc */
  checkStatus(request: SaleRequest): Promise<StatusCheck> {
    return this.#exclusive(async () => {
      const mb = this.#subscribe(request.rid);
      try {
        return await this.#statusOnce(request, mb, {});
      } finally {
        this.#unsubscribe(request.rid);
      }
    });
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const wake of this.#sleepers) wake();
    for (const mb of this.#mailboxes.values()) mb.pushClosed();
    await this.#port.close();
  }

  // ─── the sale ──────────────────────────────────────────────────────────────────────────

  async #runSale(req: SaleRequest, hooks: SaleHooks): Promise<SaleOutcome> {
    let currency: string;
    try {
      currency = currencyInfo(req.amount.currency).numeric;
    } catch (err) {
      return { kind: 'rejected', code: 'TERM_UNKNOWN', message: toError(err).message };
    }
    const kind = req.kind ?? 'sale';
    const sale: SaleLine | ReverseLine =
      kind === 'sale'
        ? {
            verb: 'SALE',
            rid: req.rid,
            amountMinor: req.amount.amountMinor,
            currency,
            method: req.method,
            installments: req.installments,
          }
        : {
            verb: kind === 'void' ? 'VOID' : 'REFUND',
            rid: req.rid,
            ref: req.originalRef ?? '',
            amountMinor: req.amount.amountMinor,
            currency,
          };
    const mb = this.#subscribe(req.rid);
    try {
      let acked = false;
      let mayHaveReached = false;
      let lastProblem = 'no ACK';
      let refusedWith: SaleOutcome | undefined;
      const markAcked = () => {
        if (!acked) {
          acked = true;
          hooks.onAcked?.();
        }
      };

      // Phase 1: get the SALE acknowledged; resending is safe thanks to the rid rule.
      attempts: for (let attempt = 1; attempt <= this.#t.saleAttempts && !acked; attempt++) {
        if (this.#closed) break;
        const sent = await this.#send(sale, mb);
        if (sent !== true) {
          lastProblem = sent;
          if (sent.startsWith('write failed')) mayHaveReached = true;
          this.#log.warn({ paymentId: req.paymentId, rid: req.rid, attempt, problem: sent }, 'could not send SALE');
          await this.#sleep(this.#t.ackTimeoutMs);
          continue;
        }
        mayHaveReached = true;
        hooks.onSent?.();
        const deadline = Date.now() + this.#t.ackTimeoutMs;
        for (;;) {
          const item = await mb.next(deadline - Date.now());
          if (item === 'timeout' || item === 'closed') {
            lastProblem = item === 'timeout' ? `no ACK within ${this.#t.ackTimeoutMs} ms` : 'link closed';
            this.#log.warn({ paymentId: req.paymentId, rid: req.rid, attempt, problem: lastProblem }, 'SALE not acknowledged');
            continue attempts;
          }
          const { line } = item;
          switch (line.verb) {
            case 'ACK':
              markAcked();
              continue attempts;
            case 'PROGRESS':
              markAcked();
              hooks.onProgress?.(line.stage);
              continue attempts;
            case 'RESULT': {
              markAcked();
              const result = this.#checkResult(req, line, item.raw);
              if (result) return { kind: 'result', result };
              lastProblem = 'RESULT does not match the request';
              break attempts;
            }
            case 'NAK':
              lastProblem = `NAK (${line.reason})`;
              this.#log.warn({ paymentId: req.paymentId, rid: req.rid, attempt, reason: line.reason }, 'SALE NAKed, resending');
              continue attempts;
            case 'ERR': {
              // ERR means the terminal refused this rid: nothing was started for it.
              const refusal: SaleOutcome =
                line.code === 'BUSY'
                  ? { kind: 'rejected', code: 'TERM_BUSY', message: 'terminal is busy with another transaction' }
                  : {
                      kind: 'rejected',
                      code: 'TERM_UNKNOWN',
                      message: `terminal refused the sale: ERR ${line.code}${line.message ? ` ${line.message}` : ''}`,
                    };
              if (attempt === 1) return refusal;
              // An earlier SALE may have reached the terminal: confirm with STATUS before
              // concluding that nothing was charged (a compliant terminal would have answered ACK).
              refusedWith = refusal;
              lastProblem = `ERR ${line.code} to a resent SALE`;
              break attempts;
            }
            case 'IDENT':
              continue;
            default: {
              const never: never = line;
              throw new TypeError(`unhandled line ${JSON.stringify(never)}`);
            }
          }
        }
      }
      if (!mayHaveReached) {
        return {
          kind: 'rejected',
          code: 'TERM_DISCONNECTED',
          message: `could not send the sale to the terminal (${lastProblem}); nothing was charged`,
        };
      }

      // Phase 2: wait for the RESULT; recover a lost one with STATUS.
      let mode: 'wait' | 'recover' = acked ? 'wait' : 'recover';
      let reason = acked ? '' : `SALE not acknowledged after ${this.#t.saleAttempts} attempts (${lastProblem})`;
      if (lastProblem === 'RESULT does not match the request') {
        mode = 'recover';
        reason = lastProblem;
      }
      let waits = 0;
      for (;;) {
        if (this.#closed) return { kind: 'unknown', reason: 'agent closed during the sale' };
        if (mode === 'wait') {
          const waited = await this.#waitResult(req, mb, hooks);
          if (waited.kind === 'outcome') return waited.outcome;
          reason = waited.reason;
          mode = 'recover';
          continue;
        }
        this.#log.warn({ paymentId: req.paymentId, rid: req.rid, reason, acked }, 'terminal answer lost, recovering with STATUS');
        hooks.onRecovering?.(reason);
        const rec = await this.#recover(req, mb, acked, hooks, refusedWith);
        if (rec.kind === 'outcome') return rec.outcome;
        if (rec.kind === 'failed') return { kind: 'unknown', reason: `${reason}; ${rec.reason}` };
        markAcked();
        waits += 1;
        if (waits > this.#t.statusAttempts) {
          return { kind: 'unknown', reason: `terminal still running the sale after ${waits} result waits` };
        }
        mode = 'wait';
      }
    } finally {
      this.#unsubscribe(req.rid);
    }
  }

  async #waitResult(req: SaleRequest, mb: Mailbox, hooks: SaleHooks): Promise<WaitOutcome> {
    const deadline = Date.now() + this.#t.resultTimeoutMs;
    for (;;) {
      const item = await mb.next(deadline - Date.now());
      if (item === 'timeout') return { kind: 'lost', reason: `no RESULT within ${this.#t.resultTimeoutMs} ms` };
      if (item === 'closed') return { kind: 'lost', reason: 'terminal link closed while waiting for RESULT' };
      const { line } = item;
      switch (line.verb) {
        case 'PROGRESS':
          hooks.onProgress?.(line.stage);
          continue;
        case 'RESULT': {
          const result = this.#checkResult(req, line, item.raw);
          if (result) return { kind: 'outcome', outcome: { kind: 'result', result } };
          return { kind: 'lost', reason: 'RESULT does not match the request' };
        }
        case 'ERR':
          return { kind: 'lost', reason: `unexpected ERR ${line.code} after the ACK` };
        case 'ACK':
        case 'NAK':
        case 'IDENT':
          // Late answers to a resent SALE; the transaction is running.
          this.#log.debug({ paymentId: req.paymentId, rid: req.rid, line: item.raw }, 'late answer ignored');
          continue;
        default: {
          const never: never = line;
          throw new TypeError(`unhandled line ${JSON.stringify(never)}`);
        }
      }
    }
  }

  /**
   * Asks STATUS until the terminal gives a usable answer.
   * @param refusal - what to report when NOT_FOUND confirms an earlier ERR refusal.
   */
  async #recover(
    req: SaleRequest,
    mb: Mailbox,
    acked: boolean,
    hooks: SaleHooks,
    refusal?: SaleOutcome,
  ): Promise<RecoverOutcome> {
    let last = 'no answer';
    for (let i = 0; i < this.#t.statusAttempts; i++) {
      if (i > 0) await this.#sleep(backoff({ baseMs: this.#t.statusBackoffMs, capMs: this.#t.statusBackoffMs * 10, minFraction: 1 }).delayFor(i - 1));
      if (this.#closed) return { kind: 'failed', reason: 'agent closed during recovery' };
      const check = await this.#statusOnce(req, mb, hooks);
      switch (check.kind) {
        case 'result':
          return { kind: 'outcome', outcome: check };
        case 'running':
          return { kind: 'running' };
        case 'not_found':
          if (acked) {
            this.#log.warn({ paymentId: req.paymentId, rid: req.rid }, 'terminal says NOT_FOUND for a sale it acknowledged');
            return { kind: 'failed', reason: 'terminal answered NOT_FOUND for a sale it had acknowledged (protocol contradiction)' };
          }
          return {
            kind: 'outcome',
            outcome: refusal ?? {
              kind: 'rejected',
              code: 'TERM_DISCONNECTED',
              message: 'terminal never accepted the sale (STATUS answered NOT_FOUND); nothing was charged',
            },
          };
        case 'no_answer':
          last = check.reason;
          this.#log.warn({ paymentId: req.paymentId, rid: req.rid, attempt: i + 1, problem: check.reason }, 'STATUS not answered');
          continue;
        default: {
          const never: never = check;
          throw new TypeError(`unhandled check ${JSON.stringify(never)}`);
        }
      }
    }
    return { kind: 'failed', reason: `${this.#t.statusAttempts} STATUS requests failed (last: ${last})` };
  }

  /** One STATUS exchange. */
  async #statusOnce(req: SaleRequest, mb: Mailbox, hooks: SaleHooks): Promise<StatusCheck> {
    const sent = await this.#send({ verb: 'STATUS', rid: req.rid }, mb);
    if (sent !== true) return { kind: 'no_answer', reason: sent };
    const deadline = Date.now() + this.#t.statusTimeoutMs;
    for (;;) {
      const item = await mb.next(deadline - Date.now());
      if (item === 'timeout') return { kind: 'no_answer', reason: `no answer to STATUS within ${this.#t.statusTimeoutMs} ms` };
      if (item === 'closed') return { kind: 'no_answer', reason: 'link closed' };
      const { line } = item;
      switch (line.verb) {
        case 'RESULT': {
          const result = this.#checkResult(req, line, item.raw);
          return result ? { kind: 'result', result } : { kind: 'no_answer', reason: 'RESULT does not match the request' };
        }
        case 'PROGRESS':
          hooks.onProgress?.(line.stage);
          return { kind: 'running' };
        case 'ACK':
          return { kind: 'running' };
        case 'ERR':
          return line.code === 'NOT_FOUND' ? { kind: 'not_found' } : { kind: 'no_answer', reason: `ERR ${line.code}` };
        case 'NAK':
          return { kind: 'no_answer', reason: `NAK (${line.reason})` };
        case 'IDENT':
          continue;
        default: {
          const never: never = line;
          throw new TypeError(`unhandled line ${JSON.stringify(never)}`);
        }
      }
    }
  }

  /**
   * Checks a RESULT's echoes against the request and maps it. Returns undefined (and logs at
   * warn) when amount or currency differ: such a RESULT is treated as a lost answer.
   */
  #checkResult(req: SaleRequest, line: ResultLine, raw: string): TerminalSaleResult | undefined {
    const numeric = currencyInfo(req.amount.currency).numeric;
    if (line.rid !== req.rid || line.amountMinor !== req.amount.amountMinor || line.currency !== numeric) {
      this.#log.warn(
        {
          paymentId: req.paymentId,
          rid: req.rid,
          serialNumber: this.#serial,
          line: raw,
          expected: { amountMinor: req.amount.amountMinor, currency: numeric },
        },
        'terminal result does not match the request',
      );
      return undefined;
    }
    const card =
      line.brand !== undefined && line.bin !== undefined && line.last4 !== undefined
        ? { brand: line.brand, firstDigits: line.bin, lastDigits: line.last4 }
        : undefined;
    return {
      outcome: line.status === 'approved' ? 'approved' : 'denied',
      terminalStatus: line.status,
      amount: { amountMinor: line.amountMinor, currency: req.amount.currency },
      responseCode: line.responseCode,
      tid: line.tid ?? req.rid,
      ...(line.authCode !== undefined ? { authorizationId: line.authCode } : {}),
      ...(line.nsu !== undefined ? { nsu: line.nsu } : {}),
      ...(line.message !== undefined ? { message: line.message } : {}),
      ...(card ? { card } : {}),
    };
  }

  // ─── the link ──────────────────────────────────────────────────────────────────────────

  /** Next answer in `mb` within `timeoutMs`, skipping nothing (used by IDENT). */
  #nextAnswer(mb: Mailbox, timeoutMs: number) {
    return mb.next(timeoutMs);
  }

  /** Sends one line, opening the port if needed. Returns true, or why it could not be sent. */
  async #send(line: HostLine, mb: Mailbox): Promise<true | string> {
    let stream: Duplex;
    try {
      stream = await this.#ensureOpen();
    } catch (err) {
      return `port unavailable: ${toError(err).message}`;
    }
    mb.dropClosed();
    const text = encodeLine(line);
    this.#log.debug({ serialNumber: this.#serial, line: text.slice(0, -LINE_DELIMITER.length) }, 'line sent');
    try {
      await new Promise<void>((resolve, reject) => {
        stream.write(text, (err) => (err ? reject(err) : resolve()));
      });
      return true;
    } catch (err) {
      return `write failed: ${toError(err).message}`;
    }
  }

  #ensureOpen(): Promise<Duplex> {
    return this.#port.ensureOpen();
  }

  #onText(text: string): void {
    const line = text.endsWith('\r') ? text.slice(0, -1) : text;
    this.#log.debug({ serialNumber: this.#serial, line: line.slice(0, MAX_BUFFERED_LINE) }, 'line received');
    const decoded = decodeTerminalLine(line);
    if (!decoded.ok) {
      this.#log.warn(
        { serialNumber: this.#serial, line: line.slice(0, MAX_BUFFERED_LINE), reason: decoded.reason, detail: decoded.detail },
        'undecodable terminal line ignored',
      );
      return;
    }
    const mb = this.#mailboxes.get(decoded.value.rid);
    if (!mb) {
      this.#log.debug({ serialNumber: this.#serial, rid: decoded.value.rid }, 'line for another rid ignored');
      return;
    }
    mb.push({ line: decoded.value, raw: line });
  }

  #subscribe(rid: string): Mailbox {
    const mb = new Mailbox();
    this.#mailboxes.set(rid, mb);
    return mb;
  }

  #unsubscribe(rid: string): void {
    this.#mailboxes.delete(rid);
  }

  /** Runs driver operations one at a time: one transaction per terminal. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#queue.run(fn);
  }

  /** A sleep that {@link close} cuts short. */
  #sleep(ms: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#sleepers.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleepers.add(wake);
    });
  }
}
