/**
 * Payloads of Concert V2 protocol E / E+: the 34-char (E+) or 26-char (E) request and the
 * 80-char (full) or 25-char (short) answer. Offsets are 0-based positions in the payload.
 *
 * Request, E+ (34): POS(0,2) amount(2,8) answerFlag(10,1) mode(11,1) type(12,1)
 *                   currency(13,3) private(16,10) delay(26,4) auth(30,4)
 * Answer:           POS(0,2) status(2,1) amount(3,8) mode(11,1) [report(12,55)]
 *                   currency(67|12,3) private(70|15,10)
 *
 * The decoder never returns the report field: it may hold a full card number. It returns
 * only a {@link ConcertCardDigits} summary (first 6 / last 4) when the report starts with
 * something that looks like a card number, masked or not.
 *
 * @see docs/protocol/terminal-concert.md "Payloads"
 * @see ../../../../docs/protocol/terminal-concert.md
 */
import {
  ANSWER_FULL_LENGTH,
  ANSWER_SHORT_LENGTH,
  PRIVATE_LENGTH,
  REPORT_LENGTH,
  REQUEST_E_LENGTH,
  REQUEST_EPLUS_LENGTH,
} from './constants.ts';

/** Transaction types of the request (offset 12). */
export const CONCERT_TRANSACTION_TYPES = { debit: '0', credit: '1', cancellation: '2', preauthorisation: '4' } as const;
/** A transaction type: `debit` = purchase, `credit` = refund, `cancellation` = void. */
export type ConcertTransactionType = keyof typeof CONCERT_TRANSACTION_TYPES;

/** Answer status (offset 2). `unverified` = handled without a final verdict (never read as a decline). */
export const CONCERT_STATUS = { '0': 'accepted', '7': 'refused', '9': 'unverified' } as const;
/** Decoded answer status. */
export type ConcertStatus = (typeof CONCERT_STATUS)[keyof typeof CONCERT_STATUS];

/** A request to the terminal. */
export interface ConcertRequest {
  /** Cash-register number, 1..99. */
  posNumber: number;
  /** Integer minor units, 0..99 999 999. */
  amountMinor: number;
  /** `full`: 80-char answer with the report; `short`: 25 chars. */
  answer: 'full' | 'short';
  /** Payment mode, one char: `1` card, `C` cheque, brand-specific others. */
  paymentMode: string;
  transactionType: ConcertTransactionType;
  /** ISO 4217 numeric code, 3 digits. */
  currencyNumeric: string;
  /**
   * Ours to fill (posbridge puts its transaction reference here), ≤ 10 printable ASCII chars,
   * space padded. Not reliably echoed: see {@link ConcertAnswer.privateData}.
   */
  privateData: string;
  /** E+ only: `end` = answer at the end of the transaction (A010), `immediate` = ack-only answer (A011). */
  answerDelay: 'end' | 'immediate';
  /** E+ only: `terminal` decides (B010) or force `online` (B011). */
  authorisation: 'terminal' | 'online';
  /** `E+` (34 chars) or the older `E` (26 chars). @default 'E+' */
  protocol?: 'E+' | 'E';
}

/** First 6 / last 4 digits found in the report field; nothing else of it is kept. */
export interface ConcertCardDigits {
  firstDigits: string;
  lastDigits: string;
}

/** A decoded answer. */
export interface ConcertAnswer {
  posNumber: number;
  status: ConcertStatus;
  amountMinor: number;
  paymentMode: string;
  currencyNumeric: string;
  /**
   * The answer's private field, trailing spaces removed. Terminal-owned on real terminals:
   * blank, zeros or the terminal's own reference; some implementations echo the request's.
   * It confirms a match only when it equals the request's; it is never a reason to drop an answer.
   */
  privateData: string;
  /** `full` (80 chars) or `short` (25). */
  form: 'full' | 'short';
  /** Card digits summary from the report (full answers only, when present). */
  card?: ConcertCardDigits;
}

/** Result of a payload decoder: a value or why it was refused. */
export type PayloadDecodeResult<T> = { ok: true; value: T } | { ok: false; reason: string };

const pad = (value: number, width: number): string => String(value).padStart(width, '0');

/**
 * Encodes a request payload.
 * @throws RangeError when a field is out of range (the message names it).
 */
export function encodeConcertRequest(req: ConcertRequest): string {
  if (!Number.isInteger(req.posNumber) || req.posNumber < 1 || req.posNumber > 99) throw new RangeError('posNumber must be 1..99');
  if (!Number.isInteger(req.amountMinor) || req.amountMinor < 0 || req.amountMinor > 99_999_999) {
    throw new RangeError('amountMinor must be an integer 0..99999999');
  }
  if (!/^[\x21-\x7e]$/.test(req.paymentMode)) throw new RangeError('paymentMode must be one printable char');
  if (!/^\d{3}$/.test(req.currencyNumeric)) throw new RangeError('currencyNumeric must be 3 digits');
  if (req.privateData.length > PRIVATE_LENGTH || !/^[\x20-\x7e]*$/.test(req.privateData)) {
    throw new RangeError(`privateData must be at most ${PRIVATE_LENGTH} printable ASCII chars`);
  }
  const base =
    pad(req.posNumber, 2) +
    pad(req.amountMinor, 8) +
    (req.answer === 'full' ? '1' : '0') +
    req.paymentMode +
    CONCERT_TRANSACTION_TYPES[req.transactionType] +
    req.currencyNumeric +
    req.privateData.padEnd(PRIVATE_LENGTH, ' ');
  if (req.protocol === 'E') return base;
  return base + (req.answerDelay === 'end' ? 'A010' : 'A011') + (req.authorisation === 'terminal' ? 'B010' : 'B011');
}

/** Decodes a request payload (34 chars E+, or 26 chars E). Used by fakes and tests. */
export function decodeConcertRequest(payload: string): PayloadDecodeResult<ConcertRequest> {
  if (payload.length !== REQUEST_EPLUS_LENGTH && payload.length !== REQUEST_E_LENGTH) {
    return { ok: false, reason: `length ${payload.length}, expected ${REQUEST_EPLUS_LENGTH} or ${REQUEST_E_LENGTH}` };
  }
  const pos = payload.slice(0, 2);
  const amount = payload.slice(2, 10);
  const flag = payload.slice(10, 11);
  const type = payload.slice(12, 13);
  const currency = payload.slice(13, 16);
  if (!/^\d{2}$/.test(pos) || pos === '00') return { ok: false, reason: 'bad POS number' };
  if (!/^\d{8}$/.test(amount)) return { ok: false, reason: 'bad amount' };
  if (flag !== '0' && flag !== '1') return { ok: false, reason: 'bad answer flag' };
  const typeName = (Object.keys(CONCERT_TRANSACTION_TYPES) as ConcertTransactionType[]).find((k) => CONCERT_TRANSACTION_TYPES[k] === type);
  if (typeName === undefined) return { ok: false, reason: 'bad transaction type' };
  if (!/^\d{3}$/.test(currency)) return { ok: false, reason: 'bad currency' };
  const common = {
    posNumber: Number(pos),
    amountMinor: Number(amount),
    answer: flag === '1' ? ('full' as const) : ('short' as const),
    paymentMode: payload.slice(11, 12),
    transactionType: typeName,
    currencyNumeric: currency,
    privateData: payload.slice(16, 26).trimEnd(),
  };
  if (payload.length === REQUEST_E_LENGTH) {
    return { ok: true, value: { ...common, answerDelay: 'end', authorisation: 'terminal', protocol: 'E' } };
  }
  const delay = payload.slice(26, 30);
  const auth = payload.slice(30, 34);
  if (delay !== 'A010' && delay !== 'A011') return { ok: false, reason: 'bad answer delay' };
  if (auth !== 'B010' && auth !== 'B011') return { ok: false, reason: 'bad authorisation' };
  return {
    ok: true,
    value: {
      ...common,
      answerDelay: delay === 'A010' ? 'end' : 'immediate',
      authorisation: auth === 'B010' ? 'terminal' : 'online',
      protocol: 'E+',
    },
  };
}

/** What {@link encodeConcertAnswer} needs (for fakes and tests). */
export interface ConcertAnswerFields {
  posNumber: number;
  /** Raw status char: `0` accepted, `7` refused, `9` unverified. */
  statusChar: string;
  amountMinor: number;
  paymentMode: string;
  /** Full answers only: report text, at most 55 chars, space padded. Omit for a short answer. */
  report?: string;
  currencyNumeric: string;
  privateData: string;
}

/** Encodes an answer payload (80 chars with `report`, else 25). @throws RangeError on bad fields. */
export function encodeConcertAnswer(a: ConcertAnswerFields): string {
  if (a.report !== undefined && a.report.length > REPORT_LENGTH) throw new RangeError(`report longer than ${REPORT_LENGTH}`);
  if (a.privateData.length > PRIVATE_LENGTH) throw new RangeError(`privateData longer than ${PRIVATE_LENGTH}`);
  if (!/^.$/.test(a.statusChar) || !/^.$/.test(a.paymentMode)) throw new RangeError('statusChar and paymentMode are one char');
  return (
    pad(a.posNumber, 2) +
    a.statusChar +
    pad(a.amountMinor, 8) +
    a.paymentMode +
    (a.report !== undefined ? a.report.padEnd(REPORT_LENGTH, ' ') : '') +
    a.currencyNumeric +
    a.privateData.padEnd(PRIVATE_LENGTH, ' ')
  );
}

/**
 * First 6 / last 4 of a card number at the start of the report, masked (`497010XXXXXX1234`,
 * `497010******1234`) or not. Anything else → undefined. The report text is not returned.
 */
function cardDigitsOf(report: string): ConcertCardDigits | undefined {
  const m = /^\s*(\d{6})[\dXx*]{0,9}(\d{4})(?:\s|$)/.exec(report);
  if (!m || m[1] === undefined || m[2] === undefined) return undefined;
  return { firstDigits: m[1], lastDigits: m[2] };
}

/** Decodes an answer payload (80 or 25 chars). */
export function decodeConcertAnswer(payload: string): PayloadDecodeResult<ConcertAnswer> {
  const full = payload.length === ANSWER_FULL_LENGTH;
  if (!full && payload.length !== ANSWER_SHORT_LENGTH) {
    return { ok: false, reason: `length ${payload.length}, expected ${ANSWER_FULL_LENGTH} or ${ANSWER_SHORT_LENGTH}` };
  }
  const pos = payload.slice(0, 2);
  const statusChar = payload.slice(2, 3);
  const amount = payload.slice(3, 11);
  const tail = full ? 67 : 12;
  const currency = payload.slice(tail, tail + 3);
  if (!/^\d{2}$/.test(pos)) return { ok: false, reason: 'bad POS number' };
  const status = (CONCERT_STATUS as Record<string, ConcertStatus | undefined>)[statusChar];
  if (status === undefined) return { ok: false, reason: `unknown status ${JSON.stringify(statusChar)}` };
  if (!/^\d{8}$/.test(amount)) return { ok: false, reason: 'bad amount' };
  if (!/^\d{3}$/.test(currency)) return { ok: false, reason: 'bad currency' };
  const card = full ? cardDigitsOf(payload.slice(12, 12 + REPORT_LENGTH)) : undefined;
  return {
    ok: true,
    value: {
      posNumber: Number(pos),
      status,
      amountMinor: Number(amount),
      paymentMode: payload.slice(11, 12),
      currencyNumeric: currency,
      privateData: payload.slice(tail + 3, tail + 3 + PRIVATE_LENGTH).trimEnd(),
      form: full ? 'full' : 'short',
      ...(card ? { card } : {}),
    },
  };
}

/**
 * The payload with the report field blanked, safe to log (a full answer's report may hold a
 * card number). Other payloads are returned unchanged.
 */
export function redactConcertPayload(payload: string): string {
  if (payload.length !== ANSWER_FULL_LENGTH) return payload;
  return payload.slice(0, 12) + '#'.repeat(REPORT_LENGTH) + payload.slice(12 + REPORT_LENGTH);
}
