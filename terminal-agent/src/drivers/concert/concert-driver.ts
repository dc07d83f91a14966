/**
 * Driver for Ingenico terminals speaking Concert V2 "protocol E+" over serial (USB-CDC or
 * RS-232). Framing, LRC and the link machine come from `@posbridge/protocol/terminal`
 * (concert/); this module is their interpreter plus the mapping to sale outcomes.
 *
 *   sale ──▶ Exchange A (ENQ/ACK, frame/ACK, EOT) ──delivered──▶ wait answer (Exchange B)
 *     │ not ready / NAK limit: rejected (nothing reached the terminal)     │ POS no., amount, currency match ──▶ result
 *     │ frame ACK lost: keep waiting (the terminal may be running it)      │ they differ: refused (logged with why), keep waiting
 *     │                                                                   │ echoes an earlier request's reference: kept for it
 *     │                                                                   │ status 9: unknown
 *     └────────────────────────────── port drops: reopen, keep waiting ──┘ answerTimeoutMs: unknown (says what was refused)
 *
 * Matching: E+ has one outstanding request per link, so the answer that follows our request is
 * its answer when the POS number, amount and currency match. Our reference travels in the
 * 10-char private field, but real terminals answer that field blank, zero-filled or with their
 * own reference: it only *confirms* a match when echoed, and is never a reason to drop an answer
 * (except when it echoes the reference of an earlier request of ours: that is a late answer; or
 * when it repeats, byte for byte and within the terminal's resend window, the answer last taken
 * with the same terminal-owned reference: that is the terminal resending the previous answer).
 * Answers that come with no request of this process outstanding (after an agent restart) are
 * kept; `checkStatus` takes one for a journaled request only when it echoes its reference.
 *
 * The dialect has no status query and no abort: a lost answer is `unknown` (never a guessed
 * decline); a late answer that arrives afterwards (for the request sent last, or echoing an
 * earlier reference) is kept so `checkStatus` can resolve that unknown outcome.
 *
 * @see ../../../../docs/protocol/terminal-concert.md
 */
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { SerialQueue } from '@posbridge/kit/serial-queue';
import { CodedError, toError } from '@posbridge/protocol/errors';
import { currencyInfo } from '@posbridge/protocol/money';
import {
  CONCERT_DEFAULT_TIMINGS,
  CONCERT_DIALECT,
  CONCERT_LINK_IDLE,
  ConcertFrameParser,
  concertLinkDeadline,
  decodeConcertAnswer,
  encodeConcertRequest,
  redactConcertPayload,
  toHex,
  transitionConcertLink,
  type ConcertAnswer,
  type ConcertLinkEffect,
  type ConcertLinkEvent,
  type ConcertLinkState,
  type ConcertTimings,
} from '@posbridge/protocol/terminal';
import type {
  AbortAttempt,
  DriverEvents,
  SaleHooks,
  SaleOutcome,
  SaleRequest,
  StatusCheck,
  TerminalDriver,
  TerminalIdentity,
  TerminalSaleResult,
} from '../terminal-driver.ts';
import { brandOfBin } from './brand.ts';
import { SYSTEM_CLOCK, sleep, type Clock, type Timer } from '../../time/clock.ts';
import { TerminalPort } from '../../transports/terminal-port.ts';

/** Options of {@link ConcertDriver}. */
export interface ConcertDriverOptions {
  /** Opens the terminal's byte stream; called again to reopen after the link drops. */
  open: () => Promise<Duplex>;
  logger: Logger;
  /**
   * The terminal's serial number, from the configuration: Concert E+ has no identification
   * command, so the agent announces only what the technician configured for this port.
   */
  serialNumber?: string;
  /** Cash-register number sent in every request, 1..99. @default 1 */
  posNumber?: number;
  /** Link timers; defaults from the reference. */
  timings?: Partial<ConcertTimings>;
  /** Wait between attempts to reopen a port that dropped during a sale, ms. @default 1000 */
  reopenDelayMs?: number;
  /** Wire and display events. */
  events?: DriverEvents;
  /** Clock, epoch ms; overrides `clock.now`. @default clock.now */
  now?: () => number;
  /** Time and timers of the link machine, the answer wait and the reopen retries. @default {@link SYSTEM_CLOCK} */
  clock?: Clock;
}

/** Characters of our 10-char references: upper-case base32, printable in any terminal log. */
const REF_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** Late answers kept for `checkStatus`, newest last. */
const MAX_LATE_ANSWERS = 100;
/** References of our recent requests, to recognise an answer that echoes one of them. */
const MAX_RECENT_REFERENCES = 100;
/** Refused answers whose reasons one unknown outcome quotes. */
const MAX_REFUSALS_QUOTED = 3;

interface Pending {
  req: SaleRequest;
  hooks: SaleHooks;
  /** The request frame was written at least once: the terminal may have it. */
  written: boolean;
  delivered: boolean;
  deadline: number;
  /** Why each answer received for this request was refused (mismatch, undecodable), oldest first. */
  refused: string[];
  settle: (outcome: SaleOutcome) => void;
}

/** Concert E+ implementation of {@link TerminalDriver}. */
export class ConcertDriver implements TerminalDriver {
  /** @inheritdoc */
  readonly dialect = CONCERT_DIALECT;
  /** @inheritdoc Concert E+ has no status query. */
  readonly hasStatusQuery = false;
  readonly #o: ConcertDriverOptions;
  readonly #t: ConcertTimings;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #clock: Clock;
  readonly #parser = new ConcertFrameParser();
  #state: ConcertLinkState = CONCERT_LINK_IDLE;
  #timer: Timer | undefined;
  readonly #port: TerminalPort;
  #closed = false;
  #pending: Pending | undefined;
  readonly #queue = new SerialQueue();
  readonly #late = new Map<string, ConcertAnswer>();
  /**
   * Answers that came with no request of this process to own them (after an agent restart, the
   * request was sent by the previous process), newest last: `checkStatus` takes one only when it
   * echoes the request's reference.
   */
  readonly #unattributed: ConcertAnswer[] = [];
  /** The answer last taken as a request's result: a repeat of it is not the next request's answer. */
  #lastTaken: { req: SaleRequest; payload: string; privateData: string; at: number } | undefined;
  /** Recent requests by reference, oldest first; the last one is the request sent last. */
  readonly #recent = new Map<string, SaleRequest>();

  constructor(opts: ConcertDriverOptions) {
    this.#o = opts;
    this.#t = { ...CONCERT_DEFAULT_TIMINGS, ...opts.timings };
    this.#log = opts.logger.child({ component: 'driver', dialect: CONCERT_DIALECT });
    this.#clock = opts.clock ?? SYSTEM_CLOCK;
    this.#now = opts.now ?? (() => this.#clock.now());
    this.#port = new TerminalPort({
      open: opts.open,
      onAttach: (stream) => {
        stream.on('data', (chunk: Buffer) => this.#onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)));
      },
      onGone: (_err, { isShut }) => {
        if (isShut || this.#closed) return;
        this.#step({ type: 'reset' });
        void this.#reattach();
      },
      logger: this.#log,
      serialNumber: () => opts.serialNumber,
    });
  }

  /** @inheritdoc 10 chars: `P` + 9 random base32 chars (45 bits), fits the private field. */
  newReference(): string {
    let ref = 'P';
    for (const b of randomBytes(9)) ref += REF_ALPHABET[b & 31];
    return ref;
  }

  /**
   * @inheritdoc Concert E+ has no identification command: opens the port (proving it is there)
   * and returns the configured serial number.
   * @throws CodedError `CFG_INVALID` when no serial number is configured; `TERM_PORT_OPEN_FAILED`.
   */
  identify(): Promise<TerminalIdentity> {
    return this.#exclusive(async () => {
      const serial = this.#o.serialNumber;
      if (serial === undefined) {
        throw new CodedError('CFG_INVALID', 'Concert E+ terminals cannot tell their serial number: set serialNumber for this port');
      }
      await this.#ensureOpen();
      return { serialNumber: serial, serialSource: 'config', dialect: CONCERT_DIALECT, vendor: 'Ingenico' };
    });
  }

  /** @inheritdoc */
  abort(request: SaleRequest): Promise<AbortAttempt> {
    this.#log.warn({ paymentId: request.paymentId, rid: request.rid }, 'Concert E+ has no abort from the POS; the sale runs to its end');
    return Promise.resolve('unsupported');
  }

  /**
   * @inheritdoc Returns a late answer received for `request.rid`, if any: one kept for it, or one
   * that came with no request of this process outstanding (after a restart) and echoes its
   * reference. There is no status query. An unattributed answer that matches the request's POS
   * number, amount and currency but does not echo its reference is not taken (it may belong to
   * another sale of the same amount); the `no_answer` reason then says that an answer came.
   */
  checkStatus(request: SaleRequest): Promise<StatusCheck> {
    const usable = (a: ConcertAnswer | undefined): a is ConcertAnswer =>
      a !== undefined && this.#mismatch(request, a) === undefined && a.status !== 'unverified';
    const answer = this.#late.get(request.rid) ?? this.#unattributed.findLast((a) => a.privateData === request.rid);
    if (usable(answer)) return Promise.resolve({ kind: 'result', result: this.#toResult(request, answer) });
    const unowned = this.#unattributed.filter((a) => this.#mismatch(request, a) === undefined).length;
    if (unowned > 0) {
      return Promise.resolve({
        kind: 'no_answer',
        reason:
          `Concert E+ has no status query; ${unowned} terminal answer(s) with its POS number, amount and currency came with no request ` +
          'of this agent outstanding (sent before a restart?) but without its reference: not attributed, check the terminal journal',
      });
    }
    return Promise.resolve({ kind: 'no_answer', reason: 'Concert E+ has no status query; no late answer received' });
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
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#timer?.cancel();
    this.#pending?.settle({ kind: 'unknown', reason: 'agent closed during the sale' });
    await this.#port.close();
  }

  // ─── the sale ──────────────────────────────────────────────────────────────────────────

  async #runSale(req: SaleRequest, hooks: SaleHooks): Promise<SaleOutcome> {
    let payload: string;
    try {
      const kind = req.kind ?? 'sale';
      payload = encodeConcertRequest({
        posNumber: this.#o.posNumber ?? 1,
        amountMinor: req.amount.amountMinor,
        answer: 'full',
        paymentMode: '1',
        transactionType: kind === 'sale' ? 'debit' : kind === 'void' ? 'cancellation' : 'credit',
        currencyNumeric: currencyInfo(req.amount.currency).numeric,
        privateData: req.rid,
        answerDelay: 'end',
        authorisation: 'terminal',
      });
    } catch (err) {
      return { kind: 'rejected', code: 'TERM_UNKNOWN', message: `cannot build the Concert request: ${toError(err).message}` };
    }
    try {
      await this.#ensureOpen();
    } catch (err) {
      return { kind: 'rejected', code: 'TERM_DISCONNECTED', message: `${toError(err).message}; nothing was charged` };
    }
    // The terminal may be in the middle of sending a (late) answer: let it finish its turn.
    const quietBy = this.#now() + this.#t.frameTimeoutMs + this.#t.eotTimeoutMs;
    while (this.#state.kind === 'receiving' && this.#now() < quietBy) await sleep(this.#clock, 20);
    if (this.#state.kind === 'receiving') this.#step({ type: 'reset' });
    return new Promise<SaleOutcome>((resolve) => {
      const pending: Pending = {
        req,
        hooks,
        written: false,
        delivered: false,
        deadline: this.#now() + this.#t.answerTimeoutMs,
        refused: [],
        settle: (outcome) => {
          if (this.#pending !== pending) return;
          this.#pending = undefined;
          resolve(outcome);
        },
      };
      this.#pending = pending;
      this.#step({ type: 'send', payload, answerTimeoutMs: this.#t.answerTimeoutMs });
    });
  }

  /**
   * Why `a` cannot be the answer to `req`: its POS number, amount or currency differ (the
   * fields E+ echoes); undefined when they match. The private field is not compared: real
   * terminals answer it blank, zero-filled or with their own reference.
   */
  #mismatch(req: SaleRequest, a: ConcertAnswer): string | undefined {
    const numeric = currencyInfo(req.amount.currency).numeric;
    const pos = this.#o.posNumber ?? 1;
    const diffs: string[] = [];
    if (a.posNumber !== pos) diffs.push(`POS number ${a.posNumber}, expected ${pos}`);
    if (a.amountMinor !== req.amount.amountMinor) diffs.push(`amount ${a.amountMinor}, expected ${req.amount.amountMinor}`);
    if (a.currencyNumeric !== numeric) diffs.push(`currency ${a.currencyNumeric}, expected ${numeric}`);
    return diffs.length === 0 ? undefined : diffs.join('; ');
  }

  /** Maps a matching final answer (status 0 or 7) to the sale result. */
  #toResult(req: SaleRequest, a: ConcertAnswer): TerminalSaleResult {
    return {
      outcome: a.status === 'accepted' ? 'approved' : 'denied',
      terminalStatus: a.status,
      amount: { amountMinor: a.amountMinor, currency: req.amount.currency },
      tid: req.rid,
      ...(a.status === 'refused' ? { message: 'refused by the terminal' } : {}),
      ...(a.card ? { card: { brand: brandOfBin(a.card.firstDigits), firstDigits: a.card.firstDigits, lastDigits: a.card.lastDigits } } : {}),
    };
  }

  /**
   * How long after an answer a byte-identical one is read as the terminal repeating it: a terminal
   * resends within its own ACK / frame / EOT waits. A later identical answer (a void of that sale
   * whose answer carries the same authorisation reference) is the new request's answer.
   */
  #repeatWindowMs(): number {
    return this.#t.ackTimeoutMs + this.#t.frameTimeoutMs + this.#t.eotTimeoutMs;
  }

  /** How the answer's private field relates to our reference, for the logs. */
  static #privateFieldKind(a: ConcertAnswer, rid: string): 'echoed' | 'blank' | 'zeros' | 'terminal-owned' {
    if (a.privateData === rid) return 'echoed';
    if (a.privateData.trim() === '') return 'blank';
    if (/^0+$/.test(a.privateData)) return 'zeros';
    return 'terminal-owned';
  }

  /** Keeps `req` (its frame is being written) as the request sent last, and among the recent ones for echoes. */
  #remember(req: SaleRequest): void {
    this.#recent.delete(req.rid);
    this.#recent.set(req.rid, req);
    if (this.#recent.size > MAX_RECENT_REFERENCES) this.#recent.delete(this.#recent.keys().next().value as string);
  }

  /** Keeps a late or duplicate answer of `req` for {@link checkStatus}. */
  #keepLate(req: SaleRequest, a: ConcertAnswer, pendingRid: string | undefined): void {
    this.#log.warn({ serialNumber: this.#o.serialNumber, rid: req.rid, paymentId: req.paymentId, pendingRid }, 'answer for another transaction kept for recovery');
    this.#late.delete(req.rid);
    this.#late.set(req.rid, a);
    if (this.#late.size > MAX_LATE_ANSWERS) this.#late.delete(this.#late.keys().next().value as string);
  }

  #onAnswer(payload: string): void {
    const decoded = decodeConcertAnswer(payload);
    const p = this.#pending?.written ? this.#pending : undefined;
    if (!decoded.ok) {
      this.#log.warn({ serialNumber: this.#o.serialNumber, reason: decoded.reason, payload: redactConcertPayload(payload) }, 'undecodable terminal answer ignored');
      p?.refused.push(`undecodable answer (${decoded.reason})`);
      return;
    }
    const a = decoded.value;
    // An echo of an earlier request's reference: a late or duplicate answer of that one.
    const echoed = a.privateData === p?.req.rid ? undefined : this.#recent.get(a.privateData);
    if (echoed) {
      this.#keepLate(echoed, a, p?.req.rid);
      return;
    }
    if (!p) {
      // No request outstanding: the answer follows the request sent last (one per link).
      const last = [...this.#recent.values()].at(-1);
      const why = last ? this.#mismatch(last, a) : 'no request sent yet';
      if (last && why === undefined) {
        this.#keepLate(last, a, undefined);
        return;
      }
      this.#unattributed.push(a);
      if (this.#unattributed.length > MAX_LATE_ANSWERS) this.#unattributed.shift();
      this.#log.warn(
        { serialNumber: this.#o.serialNumber, rid: last?.rid, reason: why, payload: redactConcertPayload(payload) },
        'terminal answer with no outstanding request kept for the operator',
      );
      return;
    }
    const taken = this.#lastTaken;
    if (
      taken !== undefined &&
      taken.req.rid !== p.req.rid &&
      payload === taken.payload &&
      this.#now() - taken.at <= this.#repeatWindowMs() &&
      ConcertDriver.#privateFieldKind(a, p.req.rid) === 'terminal-owned' &&
      a.privateData === taken.privateData
    ) {
      // The terminal repeated the answer it gave the previous request (same terminal reference,
      // same bytes): not an answer to this one, even if it arrives after this request was written.
      p.refused.push(`repeat of the answer taken for ${taken.req.rid} (terminal reference ${a.privateData})`);
      this.#keepLate(taken.req, a, p.req.rid);
      return;
    }
    const why = this.#mismatch(p.req, a);
    if (why !== undefined) {
      // A protocol error: never a decline. The raw answer (report blanked) is kept in the log for the operator.
      p.refused.push(why);
      this.#log.warn(
        {
          paymentId: p.req.paymentId,
          rid: p.req.rid,
          serialNumber: this.#o.serialNumber,
          reason: why,
          got: { posNumber: a.posNumber, amountMinor: a.amountMinor, currency: a.currencyNumeric, status: a.status },
          payload: redactConcertPayload(payload),
        },
        'terminal answer refused: it does not match the request',
      );
      // One request per link: an answer that is not this one's but matches the request sent
      // before it is that request's late answer (the card may have been charged): kept for it.
      const recent = [...this.#recent.values()];
      const before = recent[recent.findIndex((r) => r.rid === p.req.rid) - 1];
      if (before !== undefined && this.#mismatch(before, a) === undefined) this.#keepLate(before, a, p.req.rid);
      return;
    }
    const privateField = ConcertDriver.#privateFieldKind(a, p.req.rid);
    this.#log.debug({ paymentId: p.req.paymentId, rid: p.req.rid, privateField }, 'terminal answer matched by POS number, amount and currency');
    this.#step({ type: 'stop_waiting' });
    if (a.status === 'unverified') {
      this.#log.warn({ paymentId: p.req.paymentId, rid: p.req.rid }, 'terminal answered without a final verdict (status 9)');
      p.settle({ kind: 'unknown', reason: 'terminal answered status 9 (handled without a final verdict)' });
      return;
    }
    this.#lastTaken = { req: p.req, payload, privateData: a.privateData, at: this.#now() };
    p.settle({ kind: 'result', result: this.#toResult(p.req, a) });
  }

  /**
   * Why a sale ends without a usable answer: `base` (e.g. "no answer within 120000 ms"), or,
   * when answers came and were refused, what was refused (never "no answer" then).
   */
  static #noMatchReason(p: Pending, base: string, within: string): string {
    if (p.refused.length === 0) return base;
    const quoted = p.refused.slice(-MAX_REFUSALS_QUOTED).join(' | ');
    return `${p.refused.length} terminal answer(s) refused as not matching the request (${quoted}); none matched ${within}`;
  }

  // ─── the interpreter ───────────────────────────────────────────────────────────────────

  #step(event: ConcertLinkEvent): void {
    const { state, effects } = transitionConcertLink(this.#state, event, this.#now(), this.#t);
    if (state.kind !== this.#state.kind) this.#log.debug({ from: this.#state.kind, to: state.kind, event: event.type }, 'link state');
    this.#state = state;
    this.#arm();
    for (const effect of effects) this.#perform(effect);
  }

  #arm(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    const deadline = concertLinkDeadline(this.#state);
    if (deadline === undefined) return;
    this.#timer = this.#clock.setTimeout(() => this.#step({ type: 'tick' }), Math.max(0, deadline - this.#now()));
  }

  #perform(effect: ConcertLinkEffect): void {
    const p = this.#pending;
    switch (effect.type) {
      case 'write': {
        const stream = this.#port.current;
        this.#trace('sent', effect.what === 'frame' ? toHex(effect.bytes) : effect.what);
        if (!stream || stream.destroyed) return;
        if (effect.what === 'frame' && p) {
          // Only a request that may have reached the terminal can own a later answer.
          if (!p.written) this.#remember(p.req);
          p.written = true;
          p.hooks.onSent?.();
        }
        stream.write(effect.bytes);
        return;
      }
      case 'request_delivered':
        if (p) {
          p.delivered = true;
          p.hooks.onAcked?.();
        }
        return;
      case 'request_failed':
        if (!p) return;
        if (!effect.mayHaveReached) {
          p.settle({
            kind: 'rejected',
            code: effect.reason === 'not_ready' ? 'TERM_BUSY' : 'TERM_DISCONNECTED',
            message:
              effect.reason === 'not_ready'
                ? `terminal not ready (no ACK to ${this.#t.enqAttempts} ENQ); nothing was charged`
                : `terminal refused the request frame ${this.#t.frameAttempts} times (NAK); nothing was charged`,
          });
          return;
        }
        this.#log.warn({ paymentId: p.req.paymentId, rid: p.req.rid }, 'request frame not acknowledged; waiting for a late answer');
        p.hooks.onRecovering?.('request frame ACK lost');
        return;
      case 'answer':
        this.#trace('received', redactConcertPayload(effect.payload));
        this.#onAnswer(effect.payload);
        return;
      case 'answer_timeout':
        if (p) {
          const within = `within ${this.#t.answerTimeoutMs} ms`;
          p.settle({ kind: 'unknown', reason: ConcertDriver.#noMatchReason(p, `no answer ${within}`, within) });
        }
        return;
      case 'answer_garbled':
        this.#log.warn({ serialNumber: this.#o.serialNumber, reason: effect.reason }, 'terminal answer garbled; waiting for a resend');
        return;
      case 'reset_parser': {
        const dropped = this.#parser.reset();
        if (dropped) this.#log.warn({ serialNumber: this.#o.serialNumber, bytes: dropped.raw.length }, 'partial frame dropped');
        return;
      }
      case 'discarded': {
        const t = effect.token;
        // Short runs are shown as hex; long ones may be a garbled answer holding card data.
        const raw = 'raw' in t ? t.raw : undefined;
        this.#log.warn(
          {
            serialNumber: this.#o.serialNumber,
            // Not `token`: the agent's log redaction censors that key (it holds secrets elsewhere).
            tokenType: t.type === 'control' ? t.name : t.type,
            why: effect.why,
            ...(raw ? (raw.length <= 16 ? { hex: toHex(raw) } : { bytes: raw.length }) : {}),
          },
          'terminal bytes discarded',
        );
        return;
      }
      default: {
        const never: never = effect;
        throw new TypeError(`unknown effect ${JSON.stringify(never)}`);
      }
    }
  }

  #trace(direction: 'sent' | 'received', text: string): void {
    this.#log.trace({ serialNumber: this.#o.serialNumber, direction, wire: text }, direction === 'sent' ? 'bytes sent' : 'frame received');
    this.#o.events?.wire?.(direction, text);
  }

  #onData(chunk: Uint8Array): void {
    for (const token of this.#parser.push(chunk)) {
      if (token.type === 'control') this.#trace('received', token.name);
      this.#step({ type: 'rx', token });
    }
  }

  // ─── the port ──────────────────────────────────────────────────────────────────────────

  #ensureOpen(): Promise<Duplex> {
    return this.#port.ensureOpen();
  }

  /**
   * The port dropped (USB re-enumeration, cable): a sale that may have reached the terminal
   * keeps waiting for its answer on the reopened port until its deadline; one that certainly
   * did not is rejected.
   */
  async #reattach(): Promise<void> {
    for (;;) {
      const p = this.#pending;
      if (this.#closed || !p) return;
      if (!p.written) {
        p.settle({ kind: 'rejected', code: 'TERM_DISCONNECTED', message: 'terminal link dropped before the request was sent; nothing was charged' });
        return;
      }
      const left = p.deadline - this.#now();
      if (left <= 0) {
        p.settle({
          kind: 'unknown',
          reason: ConcertDriver.#noMatchReason(p, 'terminal link dropped and no answer came before the deadline', 'before the deadline (the link dropped)'),
        });
        return;
      }
      try {
        await this.#ensureOpen();
        if (this.#pending === p) this.#step({ type: 'await_answer', answerTimeoutMs: left });
        return;
      } catch (err) {
        this.#log.warn({ serialNumber: this.#o.serialNumber, err: toError(err) }, 'could not reopen the terminal port; retrying');
        await sleep(this.#clock, this.#o.reopenDelayMs ?? 1000);
      }
    }
  }

  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#queue.run(fn);
  }
}
