/**
 * A scripted Concert E+ terminal for tests: the terminal side of Exchanges A and B on one end
 * of a byte stream (memory pair or a pty opened with serialport), with hooks for the faults
 * the reference lists (ENQ without ACK, NAK on first try, bad LRC, a private field that is
 * blank, zero-filled or the terminal's own reference — what real terminals send — or an echo,
 * a wrong POS number / amount / currency, silence, duplicate answer, status 7/9). Test support
 * only; not exported by the package.
 */
import type { Duplex } from 'node:stream';
import {
  ACK,
  ConcertFrameParser,
  EOT,
  ENQ,
  NAK,
  decodeConcertRequest,
  encodeConcertAnswer,
  encodeConcertFrame,
  type ConcertRequest,
} from '@posbridge/protocol/terminal';
import { SYSTEM_CLOCK, sleep, type Clock } from '../time/clock.ts';

/** Script of a {@link FakeConcertTerminal}. */
export interface FakeConcertScript {
  /** Answer status char: `0` accepted, `7` refused, `9` unverified. @default '0' */
  status?: string;
  /** Ignore the first `n` ENQs (no ACK). */
  ignoreEnqs?: number;
  /** NAK the first `n` request frames. */
  nakFrames?: number;
  /** Never ACK request frames (the POS sees its frame ACK lost). */
  swallowFrameAck?: boolean;
  /** Corrupt the LRC of the first `n` answer frames. */
  badLrcAnswers?: number;
  /** Private data put in the answer instead of what {@link privateField} says. */
  wrongPrivate?: string;
  /**
   * What the answer's private field holds: `echo` (the request's, as some implementations do),
   * `blank`, `zeros`, or `own` (the terminal's own reference, `T` + a 9-digit counter), as real
   * terminals do. @default 'echo'
   */
  privateField?: 'echo' | 'blank' | 'zeros' | 'own';
  /** Answer fields that differ from the request (a mismatching answer). */
  answerPatch?: { posNumber?: number; amountMinor?: number; currencyNumeric?: string };
  /** Send no answer at all. */
  noAnswer?: boolean;
  /** Send the answer twice. */
  duplicateAnswer?: boolean;
  /** Wait before the duplicate answer (after the first was ACKed), ms. @default 0 */
  duplicateDelayMs?: number;
  /** Delay before Exchange B, ms. @default 5 */
  answerDelayMs?: number;
  /** Card number area of the report. @default '497010XXXXXX1234' */
  report?: string;
}

/** A scripted Concert terminal on one end of a byte stream. */
export class FakeConcertTerminal {
  /** Requests received (decoded, good LRC), in order, repeats included. */
  readonly requests: ConcertRequest[] = [];
  /** Transactions charged, by private reference (a repeat of a reference counts once). */
  readonly charged = new Set<string>();
  /** Bytes of control messages received, in order (`ENQ`, `ACK`, …). */
  readonly controls: string[] = [];
  readonly #stream: Duplex;
  readonly #parser = new ConcertFrameParser();
  #enqs = 0;
  #frames = 0;
  #answersSent = 0;
  #ownRefs = 0;
  /** The terminal's own reference of each request answered: a repeated answer repeats it. */
  readonly #ownRefOf = new WeakMap<ConcertRequest, string>();
  #pending: ConcertRequest | undefined;
  /** What the terminal waits for while it is master. */
  #waiting: { resolve: (b: 'ACK' | 'NAK' | 'timeout') => void } | undefined;
  script: FakeConcertScript;
  readonly #clock: Clock;

  /** `clock`: the terminal's delays and waits (share the driver's manual clock in tests). */
  constructor(stream: Duplex, script: FakeConcertScript = {}, clock: Clock = SYSTEM_CLOCK) {
    this.#stream = stream;
    this.script = script;
    this.#clock = clock;
    stream.on('data', (chunk: Buffer) => this.#onBytes(new Uint8Array(chunk)));
    stream.on('error', () => undefined);
  }

  #write(bytes: Uint8Array): void {
    if (!this.#stream.destroyed) this.#stream.write(bytes);
  }

  #onBytes(chunk: Uint8Array): void {
    for (const token of this.#parser.push(chunk)) {
      if (token.type === 'control') {
        this.controls.push(token.name);
        if (this.#waiting && (token.name === 'ACK' || token.name === 'NAK')) {
          const w = this.#waiting;
          this.#waiting = undefined;
          w.resolve(token.name);
          continue;
        }
        if (token.name === 'ENQ') {
          this.#enqs += 1;
          if (this.#enqs > (this.script.ignoreEnqs ?? 0)) this.#write(Uint8Array.of(ACK));
        } else if (token.name === 'EOT' && this.#pending) {
          const req = this.#pending;
          this.#pending = undefined;
          this.#clock.setTimeout(() => void this.#answer(req), this.script.answerDelayMs ?? 5);
        }
      } else if (token.type === 'frame') {
        this.#frames += 1;
        if (this.#frames <= (this.script.nakFrames ?? 0)) {
          this.#write(Uint8Array.of(NAK));
          continue;
        }
        const d = decodeConcertRequest(token.payload);
        if (!d.ok) {
          this.#write(Uint8Array.of(NAK));
          continue;
        }
        this.requests.push(d.value);
        if (this.script.swallowFrameAck) {
          // Took it, but the ACK is "lost": the answer still follows after the POS's EOT.
          this.#pending = d.value;
          continue;
        }
        this.#write(Uint8Array.of(ACK));
        this.#pending = d.value;
      } else if (token.type === 'bad_frame') {
        this.#write(Uint8Array.of(NAK));
      }
    }
  }

  /** Writes `bytes` and waits for the POS's ACK/NAK (armed before writing: answers may come synchronously). */
  #sendAndWait(bytes: Uint8Array, ms: number): Promise<'ACK' | 'NAK' | 'timeout'> {
    const p = new Promise<'ACK' | 'NAK' | 'timeout'>((resolve) => {
      const timer = this.#clock.setTimeout(() => {
        this.#waiting = undefined;
        resolve('timeout');
      }, ms);
      this.#waiting = {
        resolve: (b) => {
          timer.cancel();
          resolve(b);
        },
      };
    });
    this.#write(bytes);
    return p;
  }

  async #answer(req: ConcertRequest): Promise<void> {
    this.charged.add(req.privateData);
    if (this.script.noAnswer) return;
    const times = this.script.duplicateAnswer ? 2 : 1;
    for (let i = 0; i < times; i++) {
      if (i > 0 && this.script.duplicateDelayMs) await sleep(this.#clock, this.script.duplicateDelayMs);
      await this.#sendAnswer(req);
    }
  }

  /**
   * Runs Exchange B for `req` now, as a terminal finishing a transaction whose POS restarted
   * meanwhile (the request came from an earlier process). Resolves when the exchange ends.
   */
  sendAnswerFor(req: ConcertRequest): Promise<void> {
    return this.#answer(req);
  }

  /** The private field of the next answer, per {@link FakeConcertScript.privateField}. */
  #privateOf(req: ConcertRequest): string {
    if (this.script.wrongPrivate !== undefined) return this.script.wrongPrivate;
    switch (this.script.privateField ?? 'echo') {
      case 'echo':
        return req.privateData;
      case 'blank':
        return '';
      case 'zeros':
        return '0'.repeat(10);
      case 'own': {
        const known = this.#ownRefOf.get(req);
        if (known !== undefined) return known;
        this.#ownRefs += 1;
        const ref = `T${String(this.#ownRefs).padStart(9, '0')}`;
        this.#ownRefOf.set(req, ref);
        return ref;
      }
    }
  }

  async #sendAnswer(req: ConcertRequest): Promise<void> {
    const patch = this.script.answerPatch ?? {};
    const payload = encodeConcertAnswer({
      posNumber: patch.posNumber ?? req.posNumber,
      statusChar: this.script.status ?? '0',
      amountMinor: patch.amountMinor ?? req.amountMinor,
      paymentMode: req.paymentMode,
      ...(req.answer === 'full' ? { report: (this.script.status ?? '0') === '0' ? (this.script.report ?? '497010XXXXXX1234') : '' } : {}),
      currencyNumeric: patch.currencyNumeric ?? req.currencyNumeric,
      privateData: this.#privateOf(req),
    });
    if ((await this.#sendAndWait(Uint8Array.of(ENQ), 3000)) !== 'ACK') return;
    for (let attempt = 0; attempt < 3; attempt++) {
      const frame = encodeConcertFrame(payload);
      this.#answersSent += 1;
      if (this.#answersSent <= (this.script.badLrcAnswers ?? 0)) frame[frame.length - 1]! ^= 0x5a;
      const got = await this.#sendAndWait(frame, 3000);
      if (got === 'ACK') break;
      if (got === 'timeout') return;
    }
    this.#write(Uint8Array.of(EOT));
  }
}
