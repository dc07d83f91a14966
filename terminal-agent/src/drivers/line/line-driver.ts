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
 * The exchanges themselves (retransmits, time-outs, STATUS recovery, the echo check) are the
 * pure machine of ./line-link.ts; this class is its interpreter: it writes the lines the machine
 * asks for, feeds back the decoded answers for the exchange's `rid`, and schedules the
 * machine's deadline on the injected clock. Lines that fail to decode are logged at warn with
 * their text and ignored; lines for other `rid`s are logged at debug and ignored.
 */
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { SerialQueue } from '@posbridge/kit/serial-queue';
import { ReadlineParser } from '@serialport/parser-readline';
import { CodedError, toError } from '@posbridge/protocol/errors';
import { LINE_DELIMITER, LINE_DIALECT, decodeTerminalLine, encodeLine, type HostLine } from '@posbridge/protocol/terminal';
import { newRid } from '../../session/ids.ts';
import { SYSTEM_CLOCK, type Clock, type Timer } from '../../time/clock.ts';
import type {
  AbortAttempt,
  SaleHooks,
  SaleOutcome,
  SaleRequest,
  StatusCheck,
  TerminalDriver,
  TerminalIdentity,
} from '../terminal-driver.ts';
import {
  IDENT_ATTEMPTS,
  lineLinkDeadline,
  lineLinkRid,
  startLineLink,
  transitionLineLink,
  type LineDriverTimings,
  type LineLinkEffect,
  type LineLinkEvent,
  type LineLinkOp,
  type LineLinkResult,
  type LineLinkState,
  type LineLinkTransition,
} from './line-link.ts';
import { TerminalPort } from '../../transports/terminal-port.ts';

export type { LineDriverTimings } from './line-link.ts';

/** Options of {@link LineDriver}. */
export interface LineDriverOptions {
  /** Opens the terminal's byte stream; called again to reopen after the link drops. */
  open: () => Promise<Duplex>;
  /** Parent logger; the driver logs under `component: 'driver'`. */
  logger: Logger;
  timings: LineDriverTimings;
  /** Serial number used in logs until IDENT answers (the configured one, if any). */
  serialNumber?: string;
  /** Time and timers of the exchanges. @default {@link SYSTEM_CLOCK} */
  clock?: Clock;
}

/** Longest line the reader keeps; longer garbage is dropped with a warning. */
const MAX_BUFFERED_LINE = 4096;

/** The exchange in progress: the machine's state, the sale's hooks, and who waits for the end. */
interface Exchange {
  state: LineLinkState;
  hooks: SaleHooks;
  finish: (result: LineLinkResult) => void;
}

/** PBL/1 implementation of {@link TerminalDriver}. */
export class LineDriver implements TerminalDriver {
  /** @inheritdoc */
  readonly dialect = LINE_DIALECT;
  /** @inheritdoc PBL/1 has STATUS. */
  readonly hasStatusQuery = true;
  readonly #log: Logger;
  readonly #t: LineDriverTimings;
  readonly #clock: Clock;
  #serial: string | undefined;
  readonly #port: TerminalPort;
  #closed = false;
  /** The one exchange running (operations run one at a time, see {@link #exclusive}). */
  #exchange: Exchange | undefined;
  #timer: Timer | undefined;
  readonly #queue = new SerialQueue();

  constructor(opts: LineDriverOptions) {
    this.#log = opts.logger.child({ component: 'driver' });
    this.#t = opts.timings;
    this.#clock = opts.clock ?? SYSTEM_CLOCK;
    this.#serial = opts.serialNumber;
    this.#port = new TerminalPort({
      open: opts.open,
      onAttach: (stream) => {
        const parser = new ReadlineParser({ delimiter: LINE_DELIMITER, encoding: 'utf8' });
        stream.pipe(parser);
        parser.on('data', (text: string) => this.#onText(text));
        return () => stream.unpipe(parser);
      },
      // The waiting exchange learns the link is gone, also when the driver is closing.
      onGone: () => this.#step({ type: 'link_closed' }),
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
    const sent = await this.#send({ verb: 'ABORT', rid: request.rid });
    if (sent !== true) {
      this.#log.warn({ paymentId: request.paymentId, rid: request.rid, problem: sent }, 'could not send ABORT');
      return 'failed';
    }
    this.#log.info({ paymentId: request.paymentId, rid: request.rid }, 'abort sent to the terminal');
    return 'sent';
  }

  /**
   * @inheritdoc
   * @throws CodedError `TERM_MISMATCH` when the terminal speaks another dialect; `TERM_TIMEOUT`
   * when it does not answer {@link IDENT_ATTEMPTS} IDENTs.
   */
  identify(): Promise<TerminalIdentity> {
    return this.#exclusive(async () => {
      const rids = Array.from({ length: IDENT_ATTEMPTS }, () => newRid('i'));
      const result = await this.#run({ op: 'ident', rids }, {});
      if (result.op !== 'ident') throw new TypeError(`line driver: ${result.op} result for IDENT`);
      if (!result.ok) throw new CodedError(result.code, result.message, { details: result.details });
      this.#serial = result.identity.serialNumber;
      return result.identity;
    });
  }

  /** @inheritdoc */
  sale(request: SaleRequest, hooks: SaleHooks = {}): Promise<SaleOutcome> {
    return this.#exclusive(async () => {
      const result = await this.#run({ op: 'sale', req: request }, hooks);
      if (result.op !== 'sale') throw new TypeError(`line driver: ${result.op} result for a sale`);
      const outcome = result.outcome;
      const logged = outcome.kind === 'result' ? outcome.result.outcome : outcome.kind;
      this.#log.info({ paymentId: request.paymentId, rid: request.rid, outcome: logged }, 'terminal result');
      return outcome;
    });
  }

  /** @inheritdoc */
  checkStatus(request: SaleRequest): Promise<StatusCheck> {
    return this.#exclusive(async () => {
      const result = await this.#run({ op: 'status', req: request }, {});
      if (result.op !== 'status') throw new TypeError(`line driver: ${result.op} result for STATUS`);
      return result.check;
    });
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#step({ type: 'shutdown' });
    this.#step({ type: 'link_closed' });
    await this.#port.close();
  }

  // ─── the interpreter ───────────────────────────────────────────────────────────────────

  /** Runs one exchange of the machine to its end. */
  #run(op: LineLinkOp, hooks: SaleHooks): Promise<LineLinkResult> {
    return new Promise((resolve) => {
      const started = startLineLink(op, this.#clock.now(), this.#t);
      const exchange: Exchange = {
        state: started.state,
        hooks,
        finish: (result) => {
          if (this.#exchange !== exchange) return;
          this.#exchange = undefined;
          this.#timer?.cancel();
          this.#timer = undefined;
          resolve(result);
        },
      };
      this.#exchange = exchange;
      this.#apply(exchange, started);
      // Closed before this exchange began: it ends as if the driver closed during it.
      if (this.#closed && this.#exchange === exchange) {
        this.#step({ type: 'shutdown' });
        this.#step({ type: 'link_closed' });
      }
    });
  }

  /** Feeds `event` to the running exchange, if any. */
  #step(event: LineLinkEvent, only?: Exchange): void {
    const ex = this.#exchange;
    if (!ex || (only !== undefined && only !== ex)) return;
    this.#apply(ex, transitionLineLink(ex.state, event, this.#clock.now(), this.#t));
  }

  #apply(ex: Exchange, { state, effects }: LineLinkTransition): void {
    ex.state = state;
    this.#arm(ex);
    for (const effect of effects) this.#perform(ex, effect);
  }

  #arm(ex: Exchange): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    const deadline = lineLinkDeadline(ex.state);
    if (deadline === undefined) return;
    this.#timer = this.#clock.setTimeout(() => this.#step({ type: 'tick' }, ex), deadline - this.#clock.now());
  }

  #perform(ex: Exchange, effect: LineLinkEffect): void {
    switch (effect.type) {
      case 'write':
        void this.#write(ex, effect.line);
        return;
      case 'sent':
        ex.hooks.onSent?.();
        return;
      case 'acked':
        ex.hooks.onAcked?.();
        return;
      case 'progress':
        ex.hooks.onProgress?.(effect.stage);
        return;
      case 'recovering':
        ex.hooks.onRecovering?.(effect.reason);
        return;
      case 'log': {
        const fields = { serialNumber: this.#serial, ...effect.fields };
        if (effect.level === 'warn') this.#log.warn(fields, effect.msg);
        else this.#log.debug(fields, effect.msg);
        return;
      }
      case 'done':
        ex.finish(effect.result);
        return;
      default: {
        const never: never = effect;
        throw new TypeError(`unknown effect ${JSON.stringify(never)}`);
      }
    }
  }

  /** Writes the machine's line and tells it how that went. */
  async #write(ex: Exchange, line: HostLine): Promise<void> {
    const sent = await this.#send(line, () => this.#step({ type: 'writing' }, ex));
    if (sent === true) this.#step({ type: 'written' }, ex);
    else this.#step({ type: 'write_failed', problem: sent, mayHaveReached: sent.startsWith('write failed') }, ex);
  }

  // ─── the link ──────────────────────────────────────────────────────────────────────────

  /**
   * Sends one line, opening the port if needed; `onOpen` runs once the port is open, just before
   * the write. Returns true, or why it could not be sent (`port unavailable: …`, `write failed: …`).
   */
  async #send(line: HostLine, onOpen?: () => void): Promise<true | string> {
    let stream: Duplex;
    try {
      stream = await this.#ensureOpen();
    } catch (err) {
      return `port unavailable: ${toError(err).message}`;
    }
    onOpen?.();
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
    const ex = this.#exchange;
    if (!ex || lineLinkRid(ex.state) !== decoded.value.rid) {
      this.#log.debug({ serialNumber: this.#serial, rid: decoded.value.rid }, 'line for another rid ignored');
      return;
    }
    this.#step({ type: 'line', line: decoded.value, raw: line }, ex);
  }

  /** Runs driver operations one at a time: one transaction per terminal. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#queue.run(fn);
  }
}
