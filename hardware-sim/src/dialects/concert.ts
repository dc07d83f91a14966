/**
 * Concert V2 "protocol E+" on the wire, terminal side: the link-layer exchanges around the
 * device machine. Uses the simulator's own codec (`../concert-codec.ts`), never the agent's.
 *
 *   Exchange A (POS is master)                        Exchange B (terminal is master)
 *   ┌──────┐ ENQ / ACK ┌─────────┐ frame ok / ACK     ┌───────┐ result ready / ENQ  ┌───────┐ ACK / frame ┌─────────┐
 *   │ idle │──────────▶│ granted │───────────────────▶│ got   │                     │ b-enq │────────────▶│ b-frame │
 *   └──────┘ (busy:    └─────────┘ bad frame / NAK    │ req   │    idle ───────────▶└───────┘             └─────────┘
 *      ▲      no ACK)     │ (≤3, then idle)           └───────┘                       │ no ACK: ENQ again   │ NAK: resend (≤3)
 *      │                  │ timeout: idle              │ EOT: start the transaction   │ (≤3, then lost)     │ ACK: EOT → idle
 *      └──────────────────┴────────────────────────────┴──────────────────────────────┴─────────────────────┘
 *
 * Mapping to the device machine: transaction type `0` → SALE (method credit, 1 instalment),
 * `1` → standalone REFUND (no original reference in E+), `2` → cancellation (VOID) of the most
 * recent approved, not yet cancelled sale of this terminal with the same amount and currency
 * (E+ carries no original reference; none → refused, status `7`); other types are refused at
 * once (status `7`). Every request is a new transaction (E+ has no request id and no status query, so
 * the simulator never deduplicates: a resent request is a second sale, as on a real terminal);
 * sales are counted per private data. `A011` (immediate answer) gets a status `9` answer right
 * after exchange A and no final answer. Approved → status `0` with the masked card in the report,
 * declined or aborted → `7` with a blank report.
 *
 * The answer's private field is the terminal's, as on real terminals (scenario `privateField`):
 * its own reference (`own`, the default: `T` + a 9-digit transaction counter), `blank`, `zeros`,
 * or an `echo` of the request's (`--echo-private`). The POS must match an answer by POS number,
 * amount and currency.
 *
 * Faults (`scenarios/scenario.ts`): `dropAck` (the first N ENQs of each exchange A are not
 * ACKed), `delayAckMs` (the ACK to ENQ is late), `nakFirst` (the first request frame of each
 * exchange is NAKed), `corruptRate` (answer LRC wrong), `garbageRate` (noise before ENQ / answer
 * frame), `duplicateAnswer` (exchange B is run twice), `wrongRef` (the first N answers carry
 * another private data: the request's with its last char changed, whatever `privateField` says),
 * `wrongAmount` (the first N answers carry an amount one minor unit off).
 *
 * The frame log shows a frame's last byte as `<LRC xx>` (hex), never as a control name.
 */
import type { DeviceEvent, DeviceReply, SaleResult } from '../device-machine.ts';
import {
  ACK,
  buildConcertAnswer,
  ConcertReader,
  encodeConcertFrame,
  ENQ,
  EOT,
  maskedCardReport,
  NAK,
  parseConcertRequest,
  REPORT_LENGTH,
  type ConcertFrameResult,
  type ConcertRequest,
} from '../concert-codec.ts';
import { noiseBytes, printable, type WireAdapter, type WireContext } from '../wire.ts';

/**
 * Readable form of a whole Concert frame (`STX … ETX LRC`) for the frame log: the bytes up to ETX
 * as {@link printable}, then the LRC as `<LRC xx>` (hex) — an LRC below 0x20 would otherwise read
 * as a control name (`<ETX><STX>` for LRC 0x02).
 */
export function printableFrame(frame: Uint8Array): string {
  if (frame.length < 2) return printable(frame);
  const lrc = frame[frame.length - 1] ?? 0;
  return `${printable(frame.subarray(0, frame.length - 1))}<LRC ${lrc.toString(16).padStart(2, '0')}>`;
}

/** Dialect name of Concert V2 protocol E+. */
export const CONCERT_EPLUS = 'CONCERT-E+';

/** Link time-out of the terminal (ACK / frame / EOT waits), ms. @see docs/protocol/terminal-concert.md "Exchanges and timers" */
export const CONCERT_LINK_TIMEOUT_MS = 3_000;
/** ENQ and frame (re)sends before giving up. */
export const CONCERT_ATTEMPTS = 3;

type LinkState =
  | { kind: 'idle' }
  | { kind: 'granted'; naks: number }
  | { kind: 'got-request'; payload: string }
  | { kind: 'b-enq'; attempts: number }
  | { kind: 'b-frame'; attempts: number };

interface PendingAnswer {
  payload: string;
  /** Runs left (duplicateAnswer = 2). */
  runs: number;
  rid: string;
}

/** Concert E+ terminal side. */
export class ConcertWire implements WireAdapter {
  /** @inheritdoc */
  readonly dialect = CONCERT_EPLUS;
  readonly #ctx: WireContext;
  readonly #reader = new ConcertReader();
  #link: LinkState = { kind: 'idle' };
  #cancelTimer: (() => void) | undefined;
  #enqDrops = 0;
  #nakedThisExchange = false;
  #counter = 0;
  /** Requests by device rid (to build answers). */
  readonly #requests = new Map<string, ConcertRequest>();
  readonly #wrongRefs = new Map<string, number>();
  readonly #wrongAmounts = new Map<string, number>();
  readonly #outbox: PendingAnswer[] = [];
  /** Approved sales not cancelled yet, oldest first: what a type `2` request can cancel. */
  readonly #cancellable: { rid: string; amountMinor: number; currency: string }[] = [];
  /** Original sale rid of each cancellation rid. */
  readonly #cancelling = new Map<string, string>();

  constructor(ctx: WireContext) {
    this.#ctx = ctx;
  }

  /** @inheritdoc */
  receive(bytes: Uint8Array): void {
    for (const ev of this.#reader.push(bytes)) {
      switch (ev.type) {
        case 'noise':
          this.#ctx.logReceived(ev.raw, printable(ev.raw), 'noise');
          break;
        case 'control':
          this.#ctx.logReceived(new Uint8Array([ev.byte]), printable(new Uint8Array([ev.byte])));
          this.#onControl(ev.byte);
          break;
        case 'frame':
          this.#onFrame(ev.raw, ev.result);
          break;
        default: {
          const never: never = ev;
          throw new TypeError(`unknown read event ${JSON.stringify(never)}`);
        }
      }
    }
  }

  /** @inheritdoc */
  reset(): void {
    this.#reader.reset();
    this.#stopTimer();
    this.#link = { kind: 'idle' };
    // An answer in flight is lost with the link (E+ cannot recover it).
    this.#outbox.length = 0;
  }

  /** @inheritdoc */
  send(replies: readonly DeviceReply[], _cause: DeviceEvent): void {
    for (const r of replies) {
      if (r.kind !== 'result') continue; // E+ has no ACK/PROGRESS/ERR messages of its own
      this.#trackCancellable(r.result);
      const request = this.#requests.get(r.result.rid);
      if (request === undefined || request.answerDelay === 'A011') continue;
      this.#queueAnswer(r.result.rid, this.#answerPayload(request, r.result, r.result.status === 'approved' ? '0' : '7'));
    }
  }

  // ─── exchange A ────────────────────────────────────────────────────────────────────────

  #onControl(byte: number): void {
    const faults = this.#ctx.scenario().faults;
    switch (this.#link.kind) {
      case 'idle':
      case 'granted':
        if (byte !== ENQ) return;
        if (this.#ctx.isBusy()) {
          this.#ctx.log.debug('ENQ while a transaction runs: not granted');
          return;
        }
        if (this.#enqDrops < faults.dropAck) {
          this.#enqDrops += 1;
          this.#ctx.logDropped(new Uint8Array([ACK]), '<ACK>', 'fault:drop-ack');
          return;
        }
        this.#link = { kind: 'granted', naks: 0 };
        this.#control(ACK, faults.delayAckMs > 0 ? { note: 'fault:delay-ack', delayMs: faults.delayAckMs } : {});
        this.#arm(faults.delayAckMs + CONCERT_LINK_TIMEOUT_MS, () => this.#toIdle('no request frame after ENQ'));
        return;
      case 'got-request':
        if (byte === EOT) {
          const payload = this.#link.payload;
          this.#toIdle();
          this.#enqDrops = 0;
          this.#nakedThisExchange = false;
          this.#startTransaction(payload);
        }
        return;
      case 'b-enq':
        if (byte === ACK) {
          this.#sendAnswerFrame();
        } else if (byte === NAK) {
          this.#retryEnq();
        }
        return;
      case 'b-frame':
        if (byte === ACK) {
          this.#stopTimer();
          this.#control(EOT);
          const done = this.#outbox[0];
          if (done !== undefined) {
            done.runs -= 1;
            if (done.runs <= 0) this.#outbox.shift();
          }
          this.#link = { kind: 'idle' };
          this.#kickOutbox();
        } else if (byte === NAK) {
          this.#resendAnswerFrame();
        }
        return;
      default: {
        const never: never = this.#link;
        throw new TypeError(`unknown link state ${JSON.stringify(never)}`);
      }
    }
  }

  #onFrame(raw: Uint8Array, result: ConcertFrameResult): void {
    const text = printableFrame(raw);
    if (this.#link.kind !== 'granted' && this.#link.kind !== 'got-request') {
      this.#ctx.logReceived(raw, text, 'unexpected frame ignored');
      return;
    }
    const faults = this.#ctx.scenario().faults;
    if (this.#link.kind === 'granted' && faults.nakFirst && !this.#nakedThisExchange && result.ok) {
      this.#nakedThisExchange = true;
      this.#ctx.logReceived(raw, text, 'fault:nak-first');
      this.#control(NAK, { note: 'fault:nak-first' });
      this.#link = { kind: 'granted', naks: this.#link.naks + 1 };
      this.#arm(CONCERT_LINK_TIMEOUT_MS, () => this.#toIdle('no frame after NAK'));
      return;
    }
    if (!result.ok) {
      this.#ctx.logReceived(raw, text, `bad frame: ${result.detail}`);
      const naks = this.#link.kind === 'granted' ? this.#link.naks + 1 : 1;
      this.#control(NAK);
      if (naks >= CONCERT_ATTEMPTS) this.#toIdle('too many bad frames');
      else {
        this.#link = { kind: 'granted', naks };
        this.#arm(CONCERT_LINK_TIMEOUT_MS, () => this.#toIdle('no frame after NAK'));
      }
      return;
    }
    this.#ctx.logReceived(raw, text);
    // A repeated frame (our ACK was lost) replaces the first: still one request.
    this.#link = { kind: 'got-request', payload: result.payload };
    this.#control(ACK);
    this.#arm(CONCERT_LINK_TIMEOUT_MS, () => this.#toIdle('no EOT after the request'));
  }

  #startTransaction(payload: string): void {
    const parsed = parseConcertRequest(payload);
    this.#counter += 1;
    const rid = `c${String(this.#counter).padStart(6, '0')}`;
    if (!parsed.ok) {
      this.#ctx.log.warn({ detail: parsed.detail }, 'Concert request refused');
      return;
    }
    const req = parsed.value;
    this.#requests.set(rid, req);
    if (this.#requests.size > 1000) {
      const oldest = this.#requests.keys().next();
      if (oldest.done !== true) this.#requests.delete(oldest.value);
    }
    const reference = req.privateData.trim() === '' ? rid : req.privateData.trim();
    const refused = (why: string) => {
      this.#ctx.log.warn({ transactionType: req.transactionType, why }, 'Concert request refused');
      this.#queueAnswer(rid, buildConcertAnswer({
        posNumber: req.posNumber,
        status: '7',
        amountMinor: req.amountMinor,
        paymentMode: req.paymentMode,
        ...(req.answer === 'full' ? { report: ' '.repeat(REPORT_LENGTH) } : {}),
        currency: req.currency,
        privateData: this.#privateOf(req, rid),
      }));
    };
    if (req.amountMinor === 0) return refused('amount is zero');
    if (req.transactionType !== '0' && req.transactionType !== '1' && req.transactionType !== '2') {
      return refused('transaction type not supported');
    }
    if (req.answerDelay === 'A011') {
      this.#queueAnswer(rid, buildConcertAnswer({
        posNumber: req.posNumber,
        status: '9',
        amountMinor: req.amountMinor,
        paymentMode: req.paymentMode,
        ...(req.answer === 'full' ? { report: ' '.repeat(REPORT_LENGTH) } : {}),
        currency: req.currency,
        privateData: this.#privateOf(req, rid),
      }));
    }
    if (req.transactionType === '2') {
      const original = this.#cancellable.findLast((c) => c.amountMinor === req.amountMinor && c.currency === req.currency);
      if (original === undefined) return refused('no approved sale of that amount to cancel');
      this.#cancelling.set(rid, original.rid);
      this.#ctx.dispatch({
        type: 'command',
        command: { kind: 'reverse', op: 'void', rid, ref: original.rid, reference, amountMinor: req.amountMinor, currency: req.currency },
      });
      return;
    }
    this.#ctx.dispatch({
      type: 'command',
      command:
        req.transactionType === '0'
          ? { kind: 'sale', rid, reference, amountMinor: req.amountMinor, currency: req.currency, method: 'credit', installments: 1 }
          : { kind: 'reverse', op: 'refund', rid, reference, amountMinor: req.amountMinor, currency: req.currency },
    });
  }

  /** Keeps the list of sales a cancellation (type `2`) may reverse in step with final results. */
  #trackCancellable(result: SaleResult): void {
    if (result.operation === 'sale' && result.status === 'approved') {
      this.#cancellable.push({ rid: result.rid, amountMinor: result.amountMinor, currency: result.currency });
      if (this.#cancellable.length > 1000) this.#cancellable.shift();
    } else if (result.operation === 'void') {
      const original = this.#cancelling.get(result.rid);
      this.#cancelling.delete(result.rid);
      const i = result.status === 'approved' ? this.#cancellable.findIndex((c) => c.rid === original) : -1;
      if (i >= 0) this.#cancellable.splice(i, 1);
    }
  }

  /**
   * The answer's private field for transaction `rid`, per the scenario's `privateField`: the
   * terminal's own reference (`T` + the transaction counter), blank, zeros, or the request's echo.
   */
  #privateOf(req: ConcertRequest, rid: string): string {
    const mode = this.#ctx.scenario().privateField;
    switch (mode) {
      case 'echo':
        return req.privateData;
      case 'blank':
        return '';
      case 'zeros':
        return '0'.repeat(10);
      case 'own':
        return `T${rid.slice(1).padStart(9, '0')}`;
      default: {
        const never: never = mode;
        throw new TypeError(`unknown privateField ${String(never)}`);
      }
    }
  }

  #answerPayload(req: ConcertRequest, result: SaleResult, status: '0' | '7' | '9'): string {
    const used = this.#wrongRefs.get(result.rid) ?? 0;
    let privateData = this.#privateOf(req, result.rid);
    if (used < this.#ctx.scenario().faults.wrongRef) {
      this.#wrongRefs.set(result.rid, used + 1);
      const p = req.privateData.padEnd(10, ' ');
      privateData = `${p.slice(0, 9)}${p.endsWith('X') ? 'Y' : 'X'}`;
    }
    let amountMinor = req.amountMinor;
    const off = this.#wrongAmounts.get(result.rid) ?? 0;
    if (off < this.#ctx.scenario().faults.wrongAmount) {
      this.#wrongAmounts.set(result.rid, off + 1);
      amountMinor = amountMinor >= 99_999_999 ? amountMinor - 1 : amountMinor + 1;
    }
    const report =
      status === '0' && result.card !== undefined ? maskedCardReport(result.card.bin, result.card.last4) : '';
    return buildConcertAnswer({
      posNumber: req.posNumber,
      status,
      amountMinor,
      paymentMode: req.paymentMode,
      ...(req.answer === 'full' ? { report } : {}),
      currency: req.currency,
      privateData,
    });
  }

  // ─── exchange B ────────────────────────────────────────────────────────────────────────

  #queueAnswer(rid: string, payload: string): void {
    this.#outbox.push({ rid, payload, runs: this.#ctx.scenario().faults.duplicateAnswer ? 2 : 1 });
    this.#kickOutbox();
  }

  #kickOutbox(): void {
    if (this.#link.kind !== 'idle' || this.#outbox.length === 0) return;
    this.#link = { kind: 'b-enq', attempts: 0 };
    this.#retryEnq();
  }

  #retryEnq(): void {
    if (this.#link.kind !== 'b-enq') return;
    if (this.#link.attempts >= CONCERT_ATTEMPTS || !this.#ctx.isConnected()) {
      // E+ cannot recover an answer: once the POS does not take it (or the cable is out), it is lost.
      const lost = this.#outbox.shift();
      this.#ctx.log.warn({ rid: lost?.rid, connected: this.#ctx.isConnected() }, 'POS did not take the answer: lost');
      this.#toIdle();
      this.#kickOutbox();
      return;
    }
    this.#link = { kind: 'b-enq', attempts: this.#link.attempts + 1 };
    this.#noise();
    this.#control(ENQ);
    this.#arm(CONCERT_LINK_TIMEOUT_MS, () => this.#retryEnq());
  }

  #sendAnswerFrame(): void {
    this.#link = { kind: 'b-frame', attempts: 0 };
    this.#resendAnswerFrame();
  }

  #resendAnswerFrame(): void {
    if (this.#link.kind !== 'b-frame') return;
    const pending = this.#outbox[0];
    if (pending === undefined || this.#link.attempts >= CONCERT_ATTEMPTS) {
      this.#outbox.shift();
      this.#ctx.log.warn({ rid: pending?.rid }, 'answer frame refused too often: lost');
      this.#control(EOT);
      this.#toIdle();
      this.#kickOutbox();
      return;
    }
    this.#link = { kind: 'b-frame', attempts: this.#link.attempts + 1 };
    const frame = encodeConcertFrame(pending.payload);
    let note: string | undefined;
    const faults = this.#ctx.scenario().faults;
    if (faults.corruptRate > 0 && this.#ctx.random() < faults.corruptRate) {
      frame[frame.length - 1] = (frame[frame.length - 1] ?? 0) ^ 0x01;
      note = 'fault:corrupt';
    }
    if (pending.runs === 1 && faults.duplicateAnswer) note = note === undefined ? 'fault:duplicate' : `${note},fault:duplicate`;
    this.#noise();
    this.#ctx.write(frame, printableFrame(frame), note !== undefined ? { note } : {});
    this.#arm(CONCERT_LINK_TIMEOUT_MS, () => this.#resendAnswerFrame());
  }

  // ─── helpers ───────────────────────────────────────────────────────────────────────────

  #control(byte: number, options: { note?: string; delayMs?: number } = {}): void {
    const b = new Uint8Array([byte]);
    this.#ctx.write(b, printable(b), options);
  }

  #noise(): void {
    const faults = this.#ctx.scenario().faults;
    if (faults.garbageRate > 0 && this.#ctx.random() < faults.garbageRate) {
      const noise = noiseBytes(() => this.#ctx.random());
      this.#ctx.write(noise, printable(noise), { note: 'fault:garbage' });
    }
  }

  #arm(ms: number, fn: () => void): void {
    this.#stopTimer();
    this.#cancelTimer = this.#ctx.schedule(ms, () => {
      this.#cancelTimer = undefined;
      fn();
    });
  }

  #stopTimer(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
  }

  #toIdle(why?: string): void {
    if (why !== undefined) this.#ctx.log.debug({ why }, 'Concert link back to idle');
    this.#stopTimer();
    this.#link = { kind: 'idle' };
    if (why !== undefined) this.#kickOutbox();
  }
}
