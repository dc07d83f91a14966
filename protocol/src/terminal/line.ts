/**
 * The posbridge line dialect ("PBL/1"): a text protocol framed by newlines, for terminals and
 * bridge boards that talk over USB-CDC or RS-232. Full grammar, examples and timers:
 * docs/protocol/terminal-line.md.
 *
 *   line   = verb SP rid *(SP key "=" value) "*" crc LF      (a CR before LF is tolerated)
 *   verb   = 1*(%x41-5A)                                       e.g. SALE, RESULT
 *   rid    = 1*36(ALPHA / DIGIT / "-" / "_")                   the request id, echoed on every answer
 *   key    = %x61-7A *(%x61-7A / DIGIT / "_")
 *   value  = *(ALPHA / DIGIT / "-" / "." / "_" / "~" / ":" / "/" / "%" HEXDIG HEXDIG)  (UTF-8 percent-encoding)
 *   crc    = 4(%x30-39 / %x41-46)    CRC-16/CCITT-FALSE of every byte before "*"
 *
 * Host (agent) → terminal: SALE, VOID, REFUND, STATUS, ABORT, IDENT, TOTALS.
 * Terminal → host: ACK, NAK, ERR, PROGRESS, RESULT, IDENT, TOTALS (the day's totals).
 *
 * The dialect's safety rule: the terminal keys transactions by `rid`. A SALE repeated with a
 * `rid` it already knows never starts a second charge; it is answered with the current state
 * (ACK while running, the same RESULT once finished). So the host may always resend after a
 * lost or NAKed line, and STATUS recovers the outcome of a lost RESULT.
 *
 * This module is pure: strings in, typed values out. The readline framing lives in the
 * transports; the delimiter is {@link LINE_DELIMITER}.
 */
import { crc16Hex } from './crc16.ts';

/** Dialect name announced in IDENT answers. */
export const LINE_DIALECT = 'PBL/1';
/** Line terminator on the wire. */
export const LINE_DELIMITER = '\n';
/** Longest line either side must accept, delimiter excluded. */
export const MAX_LINE_LENGTH = 1024;

/** Card scheme of a SALE: credit or debit (PPP `Venda Direta Credito` / `Venda Direta Debito`). */
export type LineMethod = 'credit' | 'debit';
/** Terminal progress stages reported by PROGRESS. */
export type LineStage = 'waiting_card' | 'reading_card' | 'pin' | 'processing' | 'printing';
/** Final status of a RESULT. */
export type LineResultStatus = 'approved' | 'declined' | 'aborted';
/** ERR codes a terminal answers with. */
export type LineErrCode = 'BUSY' | 'NOT_FOUND' | 'BAD_REQUEST' | 'UNSUPPORTED';

const METHODS: readonly LineMethod[] = ['credit', 'debit'];
const STAGES: readonly LineStage[] = ['waiting_card', 'reading_card', 'pin', 'processing', 'printing'];
const RESULT_STATUSES: readonly LineResultStatus[] = ['approved', 'declined', 'aborted'];
const ERR_CODES: readonly LineErrCode[] = ['BUSY', 'NOT_FOUND', 'BAD_REQUEST', 'UNSUPPORTED'];

/** Start a sale of `amountMinor` (minor units) in ISO 4217 numeric `currency`. */
export interface SaleLine {
  verb: 'SALE';
  rid: string;
  /** Integer minor units. */
  amountMinor: number;
  /** ISO 4217 numeric code, three digits (`986`). */
  currency: string;
  method: LineMethod;
  /** Number of installments, 1 for a single payment. */
  installments: number;
}
/** Ask for the state of transaction `rid`. */
export interface StatusLine {
  verb: 'STATUS';
  rid: string;
}
/** Ask the terminal to abort transaction `rid` if it has not finished. */
export interface AbortLine {
  verb: 'ABORT';
  rid: string;
}
/**
 * Reverse an approved sale: `VOID` cancels it in full (before settlement), `REFUND` returns
 * `amountMinor` of it (partial allowed). `ref` is the original sale's `rid`. Keyed by its own
 * `rid` like a SALE: a repeat never reverses twice. Answered with ACK then RESULT
 * (`approved` = reversed, `declined` = refused).
 */
export interface ReverseLine {
  verb: 'VOID' | 'REFUND';
  rid: string;
  /** `rid` of the original SALE. */
  ref: string;
  /** Integer minor units to reverse. */
  amountMinor: number;
  /** ISO 4217 numeric code. */
  currency: string;
}
/** Ask the terminal who it is (request direction). */
export interface IdentRequestLine {
  verb: 'IDENT';
  rid: string;
}
/** A line the host (agent) sends. */
/** Ask for the terminal's totals of one business day (`date` YYYYMMDD; absent: today). */
export interface TotalsRequestLine {
  verb: 'TOTALS';
  rid: string;
  date?: string;
}
/** A line the host sends. */
export type HostLine = SaleLine | StatusLine | AbortLine | IdentRequestLine | ReverseLine | TotalsRequestLine;

/** The request `rid` was received and accepted (for SALE: the transaction started). */
export interface AckLine {
  verb: 'ACK';
  rid: string;
}
/** The terminal could not read a line (bad checksum or grammar): resend it. `rid` is `-` when unreadable. */
export interface NakLine {
  verb: 'NAK';
  rid: string;
  reason: string;
}
/** The request was refused; nothing was started for it. */
export interface ErrLine {
  verb: 'ERR';
  rid: string;
  code: LineErrCode;
  message?: string;
}
/** Customer-facing progress of transaction `rid`. */
export interface ProgressLine {
  verb: 'PROGRESS';
  rid: string;
  stage: LineStage;
}
/** Final outcome of transaction `rid`. Card fields carry only brand, BIN (first 6) and last 4. */
export interface ResultLine {
  verb: 'RESULT';
  rid: string;
  status: LineResultStatus;
  /** Integer minor units actually processed. */
  amountMinor: number;
  /** ISO 4217 numeric code. */
  currency: string;
  /** Issuer/acquirer response code (`00` approved, `51` insufficient funds, …). */
  responseCode: string;
  brand?: string;
  /** First 6 digits of the PAN. */
  bin?: string;
  /** Last 4 digits of the PAN. */
  last4?: string;
  /** Authorization code from the issuer. */
  authCode?: string;
  /** Acquirer's sequential number (NSU). */
  nsu?: string;
  /** Terminal/acquirer transaction id. */
  tid?: string;
  message?: string;
}
/** The terminal's identity (answer direction). */
export interface IdentAnswerLine {
  verb: 'IDENT';
  rid: string;
  serial: string;
  model?: string;
  vendor?: string;
  firmware?: string;
  dialect?: string;
}
/** A line the terminal sends. */
/** Bucket of a terminal's totals (terminal wording: `declined`). */
export type LineTotalsBucket = 'approved' | 'declined' | 'voided' | 'refunded';
/** One line of a terminal's totals: wire form `<currency>.<method>.<bucket>.<count>.<amount>`. */
export interface LineTotalsEntry {
  /** ISO 4217 numeric. */
  currency: string;
  method: LineMethod;
  bucket: LineTotalsBucket;
  count: number;
  /** Integer minor units. */
  amountMinor: number;
}
/** The terminal's totals of `date` (answer direction): fields `date`, `n`, then `t1` … `tn`. */
export interface TotalsAnswerLine {
  verb: 'TOTALS';
  rid: string;
  /** YYYYMMDD. */
  date: string;
  entries: LineTotalsEntry[];
}
/** Most entries one TOTALS answer carries (2 currencies × 2 methods × 4 buckets; the longest fits {@link MAX_LINE_LENGTH}). */
export const MAX_TOTALS_ENTRIES = 16;
/** A line the terminal sends. */
export type TerminalLine = AckLine | NakLine | ErrLine | ProgressLine | ResultLine | IdentAnswerLine | TotalsAnswerLine;

/** Why a line could not be decoded. `rid` is set when the line was readable far enough. */
export interface LineDecodeError {
  ok: false;
  reason: 'checksum' | 'syntax' | 'unknown_verb' | 'bad_field' | 'too_long';
  detail: string;
  rid?: string;
}
/** Outcome of decoding one line. */
export type LineDecodeResult<T> = { ok: true; value: T } | LineDecodeError;

const RID_RE = /^[A-Za-z0-9_-]{1,36}$/;
const KEY_RE = /^[a-z][a-z0-9_]*$/;
const VALUE_RE = /^(?:[A-Za-z0-9\-._~:/]|%[0-9A-Fa-f]{2})*$/;
const VERB_RE = /^[A-Z]+$/;

/** True when `rid` is a valid request id (1–36 of `A-Z a-z 0-9 - _`). */
export function isValidRid(rid: string): boolean {
  return RID_RE.test(rid);
}

function encodeValue(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** Order of fields on the wire for each verb: stable output makes fixtures byte-exact. */
function fieldsOf(line: HostLine | TerminalLine): [string, string | number | undefined][] {
  switch (line.verb) {
    case 'SALE':
      return [
        ['amount', line.amountMinor],
        ['currency', line.currency],
        ['method', line.method],
        ['installments', line.installments],
      ];
    case 'VOID':
    case 'REFUND':
      return [
        ['ref', line.ref],
        ['amount', line.amountMinor],
        ['currency', line.currency],
      ];
    case 'STATUS':
    case 'ABORT':
    case 'ACK':
      return [];
    case 'IDENT':
      return 'serial' in line
        ? [
            ['serial', line.serial],
            ['model', line.model],
            ['vendor', line.vendor],
            ['firmware', line.firmware],
            ['dialect', line.dialect],
          ]
        : [];
    case 'TOTALS':
      return 'entries' in line
        ? [
            ['date', line.date],
            ['n', line.entries.length],
            ...line.entries.map((e, i): [string, string] => [`t${i + 1}`, `${e.currency}.${e.method}.${e.bucket}.${e.count}.${e.amountMinor}`]),
          ]
        : [['date', line.date]];
    case 'NAK':
      return [['reason', line.reason]];
    case 'ERR':
      return [
        ['code', line.code],
        ['msg', line.message],
      ];
    case 'PROGRESS':
      return [['stage', line.stage]];
    case 'RESULT':
      return [
        ['status', line.status],
        ['amount', line.amountMinor],
        ['currency', line.currency],
        ['rc', line.responseCode],
        ['brand', line.brand],
        ['bin', line.bin],
        ['last4', line.last4],
        ['auth', line.authCode],
        ['nsu', line.nsu],
        ['tid', line.tid],
        ['msg', line.message],
      ];
    default: {
      const never: never = line;
      throw new TypeError(`unknown verb in ${JSON.stringify(never)}`);
    }
  }
}

/**
 * Encodes one line, delimiter included: `SALE r1 amount=1250 currency=986 method=credit installments=1*ABCD\n`.
 * Optional fields that are `undefined` are left out.
 * @throws TypeError when `rid` is not a valid request id.
 */
export function encodeLine(line: HostLine | TerminalLine): string {
  if (!isValidRid(line.rid) && !(line.verb === 'NAK' && line.rid === '-')) {
    throw new TypeError(`invalid rid ${JSON.stringify(line.rid)}`);
  }
  let body = `${line.verb} ${line.rid}`;
  for (const [key, value] of fieldsOf(line)) {
    if (value === undefined) continue;
    body += ` ${key}=${encodeValue(String(value))}`;
  }
  return `${body}*${crc16Hex(body)}${LINE_DELIMITER}`;
}

/** A line split into verb, rid and raw fields, checksum verified. */
interface RawLine {
  verb: string;
  rid: string;
  fields: Map<string, string>;
}

function parseRaw(input: string): LineDecodeResult<RawLine> {
  const text = input.endsWith('\r\n') ? input.slice(0, -2) : input.replace(/[\r\n]$/, '');
  if (text.length > MAX_LINE_LENGTH) return { ok: false, reason: 'too_long', detail: `line of ${text.length} chars` };
  const star = text.lastIndexOf('*');
  if (star < 0 || text.length - star !== 5) return { ok: false, reason: 'syntax', detail: 'missing *CRC trailer' };
  const body = text.slice(0, star);
  const crc = text.slice(star + 1);
  const tokens = body.split(' ');
  const rid = tokens[1];
  const ridIfValid = rid !== undefined && isValidRid(rid) ? { rid } : {};
  let expected: string;
  try {
    expected = crc16Hex(body);
  } catch {
    return { ok: false, reason: 'syntax', detail: 'non-ASCII byte in line' };
  }
  if (crc !== expected) return { ok: false, reason: 'checksum', detail: `crc ${crc}, computed ${expected}`, ...ridIfValid };
  const verb = tokens[0] ?? '';
  if (!VERB_RE.test(verb)) return { ok: false, reason: 'syntax', detail: `bad verb ${JSON.stringify(verb)}` };
  if (rid === undefined || !(isValidRid(rid) || (verb === 'NAK' && rid === '-'))) {
    return { ok: false, reason: 'syntax', detail: 'missing or invalid rid' };
  }
  const fields = new Map<string, string>();
  for (const token of tokens.slice(2)) {
    const eq = token.indexOf('=');
    const key = eq < 0 ? token : token.slice(0, eq);
    const value = eq < 0 ? '' : token.slice(eq + 1);
    if (eq < 0 || !KEY_RE.test(key) || !VALUE_RE.test(value) || fields.has(key)) {
      return { ok: false, reason: 'syntax', detail: `bad field ${JSON.stringify(token)}`, rid };
    }
    try {
      fields.set(key, decodeURIComponent(value));
    } catch {
      return { ok: false, reason: 'syntax', detail: `bad percent-encoding in ${key}`, rid };
    }
  }
  return { ok: true, value: { verb, rid, fields } };
}

class FieldError extends Error {}

/** Typed accessors over raw fields; unknown keys are ignored (forward compatibility). */
function reader(raw: RawLine) {
  const opt = (key: string): string | undefined => raw.fields.get(key);
  const req = (key: string): string => {
    const v = raw.fields.get(key);
    if (v === undefined || v === '') throw new FieldError(`missing ${key}`);
    return v;
  };
  const int = (key: string, min: number, max: number): number => {
    const v = req(key);
    if (!/^\d{1,15}$/.test(v)) throw new FieldError(`${key} is not an integer`);
    const n = Number(v);
    if (n < min || n > max) throw new FieldError(`${key} out of range`);
    return n;
  };
  const oneOf = <T extends string>(key: string, allowed: readonly T[]): T => {
    const v = req(key);
    if (!(allowed as readonly string[]).includes(v)) throw new FieldError(`${key}=${v} is not one of ${allowed.join('|')}`);
    return v as T;
  };
  const pattern = (key: string, re: RegExp): string => {
    const v = req(key);
    if (!re.test(v)) throw new FieldError(`${key} is malformed`);
    return v;
  };
  const optPattern = (key: string, re: RegExp): string | undefined => (opt(key) === undefined ? undefined : pattern(key, re));
  return { opt, req, int, oneOf, pattern, optPattern };
}

/** Copies defined optional properties only (wire types use exactOptionalPropertyTypes). */
function defined<T extends object>(value: { [K in keyof T]: T[K] | undefined }): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function decodeWith<T>(input: string, map: (raw: RawLine) => T | undefined): LineDecodeResult<T> {
  const raw = parseRaw(input);
  if (!raw.ok) return raw;
  try {
    const value = map(raw.value);
    if (value === undefined) {
      return { ok: false, reason: 'unknown_verb', detail: `verb ${raw.value.verb} not expected here`, rid: raw.value.rid };
    }
    return { ok: true, value };
  } catch (err) {
    if (err instanceof FieldError) return { ok: false, reason: 'bad_field', detail: err.message, rid: raw.value.rid };
    throw err;
  }
}

const CURRENCY_NUMERIC_RE = /^\d{3}$/;
const DATE_RE = /^\d{8}$/;
const TOTALS_ENTRY_RE = /^(\d{3})\.(credit|debit)\.(approved|declined|voided|refunded)\.(\d{1,9})\.(\d{1,15})$/;

/** One `t<i>` value, already matched by {@link TOTALS_ENTRY_RE}. */
function totalsEntry(value: string): LineTotalsEntry {
  const m = TOTALS_ENTRY_RE.exec(value);
  if (!m) throw new FieldError(`totals entry ${value} is malformed`);
  return { currency: m[1] ?? '', method: m[2] as LineMethod, bucket: m[3] as LineTotalsBucket, count: Number(m[4]), amountMinor: Number(m[5]) };
}
const MAX_AMOUNT_MINOR = 999_999_999_999;

/**
 * Decodes a line sent by the host (what a terminal or the simulator reads).
 * Never throws on bad input: returns `{ ok: false, reason }` for a bad checksum, grammar,
 * verb or field, with the `rid` when it could be read so the terminal can NAK it.
 */
export function decodeHostLine(input: string): LineDecodeResult<HostLine> {
  return decodeWith<HostLine>(input, (raw) => {
    const r = reader(raw);
    switch (raw.verb) {
      case 'SALE':
        return {
          verb: 'SALE',
          rid: raw.rid,
          amountMinor: r.int('amount', 1, MAX_AMOUNT_MINOR),
          currency: r.pattern('currency', CURRENCY_NUMERIC_RE),
          method: r.oneOf('method', METHODS),
          installments: r.int('installments', 1, 99),
        };
      case 'VOID':
      case 'REFUND':
        return {
          verb: raw.verb,
          rid: raw.rid,
          ref: r.pattern('ref', RID_RE),
          amountMinor: r.int('amount', 1, MAX_AMOUNT_MINOR),
          currency: r.pattern('currency', CURRENCY_NUMERIC_RE),
        };
      case 'STATUS':
      case 'ABORT':
      case 'IDENT':
        return { verb: raw.verb, rid: raw.rid };
      case 'TOTALS':
        return defined<TotalsRequestLine>({ verb: 'TOTALS', rid: raw.rid, date: r.optPattern('date', DATE_RE) });
      default:
        return undefined;
    }
  });
}

/**
 * Decodes a line sent by the terminal (what the agent reads).
 * Never throws on bad input: returns `{ ok: false, reason }` as {@link decodeHostLine} does.
 */
export function decodeTerminalLine(input: string): LineDecodeResult<TerminalLine> {
  return decodeWith<TerminalLine>(input, (raw) => {
    const r = reader(raw);
    switch (raw.verb) {
      case 'ACK':
        return { verb: 'ACK', rid: raw.rid };
      case 'NAK':
        return { verb: 'NAK', rid: raw.rid, reason: r.opt('reason') ?? 'unspecified' };
      case 'ERR':
        return defined<ErrLine>({ verb: 'ERR', rid: raw.rid, code: r.oneOf('code', ERR_CODES), message: r.opt('msg') });
      case 'PROGRESS':
        return { verb: 'PROGRESS', rid: raw.rid, stage: r.oneOf('stage', STAGES) };
      case 'RESULT':
        return defined<ResultLine>({
          verb: 'RESULT',
          rid: raw.rid,
          status: r.oneOf('status', RESULT_STATUSES),
          amountMinor: r.int('amount', 0, MAX_AMOUNT_MINOR),
          currency: r.pattern('currency', CURRENCY_NUMERIC_RE),
          responseCode: r.req('rc'),
          brand: r.opt('brand'),
          bin: r.optPattern('bin', /^\d{6}$/),
          last4: r.optPattern('last4', /^\d{4}$/),
          authCode: r.opt('auth'),
          nsu: r.opt('nsu'),
          tid: r.opt('tid'),
          message: r.opt('msg'),
        });
      case 'IDENT':
        return defined<IdentAnswerLine>({
          verb: 'IDENT',
          rid: raw.rid,
          serial: r.pattern('serial', /^[A-Za-z0-9._-]{1,64}$/),
          model: r.opt('model'),
          vendor: r.opt('vendor'),
          firmware: r.opt('firmware'),
          dialect: r.opt('dialect'),
        });
      case 'TOTALS': {
        const n = r.int('n', 0, MAX_TOTALS_ENTRIES);
        const entries = Array.from({ length: n }, (_, i) => totalsEntry(r.pattern(`t${i + 1}`, TOTALS_ENTRY_RE)));
        return { verb: 'TOTALS', rid: raw.rid, date: r.pattern('date', DATE_RE), entries };
      }
      default:
        return undefined;
    }
  });
}
