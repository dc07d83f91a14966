/**
 * The simulator's own Concert V2 "protocol E+" codec, written from the reference alone
 * (docs/protocol/terminal-concert.md "Bytes" and "Payloads") and deliberately independent
 * of the agent's codec in `@posbridge/protocol` — never import that one here. Both are asserted
 * against byte fixtures computed outside either codec (`fixtures/concert-eplus-golden.json` and
 * the shared `test/fixtures/frames/*.hex`), so a bug cannot cancel itself out.
 *
 * Framing:   STX | payload (ASCII) | ETX | LRC        LRC = XOR of every payload byte and ETX
 *
 * Request payload (E+, 34 chars; plain E = the first 26):
 *   0 pos(2) · 2 amount(8) · 10 answerFlag(1) · 11 mode(1) · 12 type(1) · 13 currency(3)
 *   · 16 private(10) · 26 delay(4: A010|A011) · 30 auth(4: B010|B011)
 * Answer payload (full 80 / short 25 chars):
 *   0 pos(2) · 2 status(1: 0 accepted, 7 refused, 9 no verdict) · 3 amount(8) · 11 mode(1)
 *   · [12 report(55) if full] · currency(3) · private(10)
 *
 * Pure: works on `Uint8Array` and strings; no I/O, no Node built-ins.
 */

/** Start of text. */
export const STX = 0x02;
/** End of text. */
export const ETX = 0x03;
/** End of transmission: ends a turn. */
export const EOT = 0x04;
/** Enquiry: asks for the line. */
export const ENQ = 0x05;
/** Acknowledge. */
export const ACK = 0x06;
/** Negative acknowledge: resend. */
export const NAK = 0x15;

/** Length of an E+ request payload. */
export const REQUEST_LENGTH_EPLUS = 34;
/** Length of a protocol E request payload (no delay / authorisation fields). */
export const REQUEST_LENGTH_E = 26;
/** Length of a full answer payload (with the 55-char report). */
export const ANSWER_LENGTH_FULL = 80;
/** Length of a short answer payload. */
export const ANSWER_LENGTH_SHORT = 25;
/** Length of the report field of a full answer. */
export const REPORT_LENGTH = 55;
/** Longest frame payload the reader accepts before treating the input as noise. */
export const MAX_PAYLOAD_LENGTH = 512;

/**
 * The LRC of a payload: XOR of every payload byte and of ETX (STX excluded).
 * Written as a plain loop on purpose (no reduce), independent of the agent's.
 */
export function concertLrc(payload: ArrayLike<number>): number {
  let lrc = ETX;
  for (let i = 0; i < payload.length; i++) lrc ^= payload[i] ?? 0;
  return lrc & 0xff;
}

function asciiOf(text: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) throw new RangeError(`payload character 0x${c.toString(16)} is not printable ASCII`);
    out.push(c);
  }
  return out;
}

/** Frames a payload: `STX payload ETX LRC`. @throws RangeError on non-printable payload text. */
export function encodeConcertFrame(payload: string): Uint8Array {
  const body = asciiOf(payload);
  return new Uint8Array([STX, ...body, ETX, concertLrc(body)]);
}

/** Outcome of {@link decodeConcertFrame}. */
export type ConcertFrameResult =
  | { ok: true; payload: string }
  | { ok: false; reason: 'framing' | 'lrc'; detail: string; payload?: string };

/** Checks a whole frame: STX first, ETX second-to-last, then the LRC (in that order). */
export function decodeConcertFrame(frame: ArrayLike<number>): ConcertFrameResult {
  if (frame.length < 3 || frame[0] !== STX) return { ok: false, reason: 'framing', detail: 'does not start with STX' };
  if (frame[frame.length - 2] !== ETX) return { ok: false, reason: 'framing', detail: 'ETX is not second to last' };
  const body: number[] = [];
  for (let i = 1; i < frame.length - 2; i++) body.push(frame[i] ?? 0);
  const payload = String.fromCharCode(...body);
  const got = frame[frame.length - 1] ?? 0;
  const want = concertLrc(body);
  if (got !== want) {
    return { ok: false, reason: 'lrc', detail: `LRC 0x${got.toString(16).padStart(2, '0')}, computed 0x${want.toString(16).padStart(2, '0')}`, payload };
  }
  return { ok: true, payload };
}

/** A payment request (POS → terminal). */
export interface ConcertRequest {
  /** Cash-register number, `01`–`99`. */
  posNumber: string;
  /** Integer minor units, at most 8 digits. */
  amountMinor: number;
  /** `full` (answer flag `1`: 80-char answer with report) or `short` (`0`: 25 chars). */
  answer: 'full' | 'short';
  /** Payment mode: `1` card, `C` cheque, others brand-specific. */
  paymentMode: string;
  /** `0` debit/purchase, `1` credit/refund, `2` cancellation, `4` pre-authorisation. */
  transactionType: string;
  /** ISO 4217 numeric, 3 digits. */
  currency: string;
  /** 10 chars, echoed back (spaces when unused). */
  privateData: string;
  /** E+ only: `A010` answer at the end, `A011` immediate answer. Absent in protocol E. */
  answerDelay?: 'A010' | 'A011';
  /** E+ only: `B010` terminal decides, `B011` force online. */
  authorisation?: 'B010' | 'B011';
}

/** An answer (terminal → POS). */
export interface ConcertAnswer {
  posNumber: string;
  /** `0` accepted, `7` refused, `9` handled without a final verdict. */
  status: '0' | '7' | '9';
  amountMinor: number;
  paymentMode: string;
  /** 55 chars in a full answer; absent in a short one. */
  report?: string;
  currency: string;
  privateData: string;
}

/** Outcome of the payload parsers. */
export type ConcertParse<T> = { ok: true; value: T } | { ok: false; detail: string };

const digits = (s: string, n: number) => s.length === n && /^[0-9]+$/.test(s);

/** Parses a request payload (34 chars E+, or 26 chars protocol E). */
export function parseConcertRequest(payload: string): ConcertParse<ConcertRequest> {
  if (payload.length !== REQUEST_LENGTH_EPLUS && payload.length !== REQUEST_LENGTH_E) {
    return { ok: false, detail: `request payload of ${payload.length} chars (want ${REQUEST_LENGTH_EPLUS} or ${REQUEST_LENGTH_E})` };
  }
  const posNumber = payload.slice(0, 2);
  const amount = payload.slice(2, 10);
  const flag = payload.slice(10, 11);
  const paymentMode = payload.slice(11, 12);
  const transactionType = payload.slice(12, 13);
  const currency = payload.slice(13, 16);
  const privateData = payload.slice(16, 26);
  if (!digits(posNumber, 2) || posNumber === '00') return { ok: false, detail: `POS number ${JSON.stringify(posNumber)}` };
  if (!digits(amount, 8)) return { ok: false, detail: `amount ${JSON.stringify(amount)}` };
  if (flag !== '0' && flag !== '1') return { ok: false, detail: `answer flag ${JSON.stringify(flag)}` };
  if (!digits(currency, 3)) return { ok: false, detail: `currency ${JSON.stringify(currency)}` };
  const value: ConcertRequest = {
    posNumber,
    amountMinor: Number.parseInt(amount, 10),
    answer: flag === '1' ? 'full' : 'short',
    paymentMode,
    transactionType,
    currency,
    privateData,
  };
  if (payload.length === REQUEST_LENGTH_EPLUS) {
    const delay = payload.slice(26, 30);
    const auth = payload.slice(30, 34);
    if (delay !== 'A010' && delay !== 'A011') return { ok: false, detail: `answer delay ${JSON.stringify(delay)}` };
    if (auth !== 'B010' && auth !== 'B011') return { ok: false, detail: `authorisation ${JSON.stringify(auth)}` };
    value.answerDelay = delay;
    value.authorisation = auth;
  }
  return { ok: true, value };
}

/** Builds a request payload (used by tests playing the POS). @throws RangeError on bad fields. */
export function buildConcertRequest(r: ConcertRequest): string {
  if (!Number.isSafeInteger(r.amountMinor) || r.amountMinor < 0 || r.amountMinor > 99_999_999) throw new RangeError('amount out of range');
  if (r.privateData.length > 10) throw new RangeError('private data longer than 10');
  const head =
    r.posNumber.padStart(2, '0') +
    String(r.amountMinor).padStart(8, '0') +
    (r.answer === 'full' ? '1' : '0') +
    r.paymentMode +
    r.transactionType +
    r.currency +
    r.privateData.padEnd(10, ' ');
  return r.answerDelay === undefined ? head : head + r.answerDelay + (r.authorisation ?? 'B010');
}

/** Builds an answer payload (80 chars with a report, 25 without). @throws RangeError on bad fields. */
export function buildConcertAnswer(a: ConcertAnswer): string {
  if (!Number.isSafeInteger(a.amountMinor) || a.amountMinor < 0 || a.amountMinor > 99_999_999) throw new RangeError('amount out of range');
  if (a.report !== undefined && a.report.length > REPORT_LENGTH) throw new RangeError('report longer than 55');
  if (a.privateData.length > 10) throw new RangeError('private data longer than 10');
  return (
    a.posNumber +
    a.status +
    String(a.amountMinor).padStart(8, '0') +
    a.paymentMode +
    (a.report === undefined ? '' : a.report.padEnd(REPORT_LENGTH, ' ')) +
    a.currency +
    a.privateData.padEnd(10, ' ')
  );
}

/** Parses an answer payload (used by tests playing the POS). */
export function parseConcertAnswer(payload: string): ConcertParse<ConcertAnswer> {
  const full = payload.length === ANSWER_LENGTH_FULL;
  if (!full && payload.length !== ANSWER_LENGTH_SHORT) return { ok: false, detail: `answer payload of ${payload.length} chars` };
  const status = payload.slice(2, 3);
  if (status !== '0' && status !== '7' && status !== '9') return { ok: false, detail: `status ${JSON.stringify(status)}` };
  const amount = payload.slice(3, 11);
  if (!digits(amount, 8)) return { ok: false, detail: `amount ${JSON.stringify(amount)}` };
  const tail = full ? 67 : 12;
  return {
    ok: true,
    value: {
      posNumber: payload.slice(0, 2),
      status,
      amountMinor: Number.parseInt(amount, 10),
      paymentMode: payload.slice(11, 12),
      ...(full ? { report: payload.slice(12, 67) } : {}),
      currency: payload.slice(tail, tail + 3),
      privateData: payload.slice(tail + 3, tail + 13),
    },
  };
}

/** The masked card number of a report: first 6, six `X`, last 4 (never a PAN). */
export function maskedCardReport(bin: string, last4: string): string {
  return `${bin}XXXXXX${last4}`;
}

/** What the streaming reader found. */
export type ConcertReadEvent =
  | { type: 'control'; byte: typeof ENQ | typeof ACK | typeof NAK | typeof EOT }
  | { type: 'frame'; raw: Uint8Array; result: ConcertFrameResult }
  | { type: 'noise'; raw: Uint8Array };

/**
 * Streaming reader, indifferent to chunk boundaries: control bytes outside a frame, whole frames
 * (STX … ETX LRC, checked), and anything else as noise.
 */
export class ConcertReader {
  #frame: number[] | undefined;
  #awaitLrc = false;
  #noise: number[] = [];

  /** Feeds bytes; returns what they completed, in order. */
  push(bytes: ArrayLike<number>): ConcertReadEvent[] {
    const out: ConcertReadEvent[] = [];
    const flushNoise = () => {
      if (this.#noise.length > 0) out.push({ type: 'noise', raw: new Uint8Array(this.#noise) });
      this.#noise = [];
    };
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i] ?? 0;
      if (this.#frame !== undefined) {
        this.#frame.push(b);
        if (this.#awaitLrc) {
          const raw = new Uint8Array(this.#frame);
          this.#frame = undefined;
          this.#awaitLrc = false;
          out.push({ type: 'frame', raw, result: decodeConcertFrame(raw) });
        } else if (b === ETX) {
          this.#awaitLrc = true;
        } else if (this.#frame.length > MAX_PAYLOAD_LENGTH + 1) {
          this.#noise.push(...this.#frame);
          this.#frame = undefined;
          flushNoise();
        }
        continue;
      }
      if (b === STX) {
        flushNoise();
        this.#frame = [b];
      } else if (b === ENQ || b === ACK || b === NAK || b === EOT) {
        flushNoise();
        out.push({ type: 'control', byte: b });
      } else {
        this.#noise.push(b);
      }
    }
    flushNoise();
    return out;
  }

  /** Forgets a partial frame. */
  reset(): void {
    this.#frame = undefined;
    this.#awaitLrc = false;
    this.#noise = [];
  }
}
