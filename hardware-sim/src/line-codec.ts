/**
 * The simulator's own PBL/1 line codec, written independently of `@posbridge/protocol/terminal`.
 *
 * Why a second codec: if the simulated terminal used the agent's encoder and decoder, a bug in
 * them would cancel itself out (the agent would happily read what it wrote itself). This module
 * is written from the grammar alone, works on untyped `verb rid key=value…` triples, and both it
 * and the protocol codec are asserted against the byte-exact fixtures in
 * `fixtures/pbl1-golden.json` (see `line-codec.test.ts`), so the two can never drift apart
 * silently.
 *
 * Grammar (docs/protocol/terminal-line.md, restated):
 *
 *   line  = verb SP rid *(SP key "=" value) "*" crc LF       CR before LF tolerated
 *   verb  = 1*(A-Z)
 *   rid   = 1*36(ALPHA / DIGIT / "-" / "_")                  "-" alone only in NAK
 *   key   = a-z *(a-z / DIGIT / "_")
 *   value = *(ALPHA / DIGIT / "-" / "." / "_" / "~" / ":" / "/" / "%" HEXDIG HEXDIG)
 *   crc   = 4 upper-case hex digits: CRC-16/CCITT-FALSE over every byte before "*"
 *
 * Canonical encoding (what both encoders emit, so fixtures are byte-exact): only the RFC 3986
 * unreserved characters `A-Z a-z 0-9 - . _ ~` are written literally; every other UTF-8 byte,
 * `:` and `/` included, is written `%XX` with upper-case hex. The decoder also accepts literal
 * `:` and `/`, as the grammar allows.
 *
 * Pure: no I/O, no Node built-ins.
 */

/** Longest line accepted, delimiter excluded (PBL/1 limit). */
export const SIM_MAX_LINE_LENGTH = 1024;

/** A PBL/1 line as ordered, untyped fields (values already percent-decoded). */
export interface WireLine {
  /** Upper-case verb, e.g. `SALE`, `RESULT`. */
  verb: string;
  /** Request id echoed on every answer; `-` only in a NAK for an unreadable line. */
  rid: string;
  /** Fields in wire order. */
  fields: ReadonlyArray<readonly [key: string, value: string]>;
}

/** Why a received line was rejected; `rid` is set when it could be read. */
export interface WireDecodeError {
  ok: false;
  /** `checksum`: the CRC does not match; `syntax`: anything else about the grammar. */
  reason: 'checksum' | 'syntax';
  /** Human-readable detail for logs. */
  detail: string;
  rid?: string;
}

/** Outcome of {@link decodeWireLine}. */
export type WireDecodeResult = { ok: true; line: WireLine } | WireDecodeError;

/**
 * CRC-16/CCITT-FALSE, bit by bit: poly 0x1021, init 0xFFFF, no reflection, no final XOR.
 * Deliberately not table driven, unlike the protocol package's version.
 * @param bytes values 0–255.
 * @returns the CRC, 0–0xFFFF (0x29B1 for the ASCII bytes of `123456789`).
 */
export function simCrc16(bytes: ArrayLike<number>): number {
  let crc = 0xffff;
  for (let i = 0; i < bytes.length; i++) {
    crc ^= (bytes[i] ?? 0) << 8;
    for (let bit = 0; bit < 8; bit++) {
      crc = (crc & 0x8000) !== 0 ? (crc << 1) ^ 0x1021 : crc << 1;
      crc &= 0xffff;
    }
  }
  return crc;
}

/** Bytes of an ASCII string, or `undefined` when it holds a character above 0x7F. */
function asciiBytes(text: string): number[] | undefined {
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return undefined;
    out.push(c);
  }
  return out;
}

/** Four upper-case hex digits of the CRC of an ASCII string. @throws RangeError on non-ASCII. */
export function simCrcHex(ascii: string): string {
  const bytes = asciiBytes(ascii);
  if (bytes === undefined) throw new RangeError('non-ASCII text has no PBL/1 checksum');
  return simCrc16(bytes).toString(16).toUpperCase().padStart(4, '0');
}

const HEX = '0123456789ABCDEF';

function isUnreserved(byte: number): boolean {
  return (
    (byte >= 0x30 && byte <= 0x39) || // 0-9
    (byte >= 0x41 && byte <= 0x5a) || // A-Z
    (byte >= 0x61 && byte <= 0x7a) || // a-z
    byte === 0x2d || // -
    byte === 0x2e || // .
    byte === 0x5f || // _
    byte === 0x7e // ~
  );
}

/** Percent-encodes a field value in the canonical form (see module header). */
export function encodeFieldValue(value: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(value)) {
    out += isUnreserved(byte) ? String.fromCharCode(byte) : `%${HEX[byte >> 4]}${HEX[byte & 0x0f]}`;
  }
  return out;
}

/** Decodes a field value; `undefined` when it holds a character the grammar forbids or bad UTF-8. */
export function decodeFieldValue(raw: string): string | undefined {
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25 /* % */) {
      const hex = raw.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (isUnreserved(c) || c === 0x3a /* : */ || c === 0x2f /* / */) {
      bytes.push(c);
    } else {
      return undefined;
    }
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
  } catch {
    return undefined;
  }
}

function isVerb(s: string): boolean {
  return /^[A-Z]+$/.test(s);
}

/** True when `rid` is 1–36 of `A-Z a-z 0-9 - _`. */
export function isSimRid(s: string): boolean {
  return /^[A-Za-z0-9_-]{1,36}$/.test(s);
}

function isKey(s: string): boolean {
  return /^[a-z][a-z0-9_]*$/.test(s);
}

/**
 * Encodes a line without its delimiter: `ACK r1*1A2B`. The transport appends `\n`.
 * @throws TypeError on an invalid verb, rid or key (a bug in the simulator, never input).
 */
export function encodeWireLine(line: WireLine): string {
  if (!isVerb(line.verb)) throw new TypeError(`invalid verb ${JSON.stringify(line.verb)}`);
  if (!isSimRid(line.rid) && !(line.verb === 'NAK' && line.rid === '-')) {
    throw new TypeError(`invalid rid ${JSON.stringify(line.rid)}`);
  }
  const parts = [line.verb, line.rid];
  for (const [key, value] of line.fields) {
    if (!isKey(key)) throw new TypeError(`invalid key ${JSON.stringify(key)}`);
    parts.push(`${key}=${encodeFieldValue(value)}`);
  }
  const body = parts.join(' ');
  return `${body}*${simCrcHex(body)}`;
}

/**
 * Decodes one received line (with or without its `\n` / `\r\n`). Never throws.
 * The checksum is verified before the grammar, so a corrupted line is reported as `checksum`.
 */
export function decodeWireLine(input: string): WireDecodeResult {
  let text = input;
  if (text.endsWith('\n')) text = text.slice(0, -1);
  if (text.endsWith('\r')) text = text.slice(0, -1);
  if (text.length > SIM_MAX_LINE_LENGTH) return { ok: false, reason: 'syntax', detail: `line of ${text.length} chars` };

  const star = text.lastIndexOf('*');
  if (star < 0) return { ok: false, reason: 'syntax', detail: 'no *CRC trailer' };
  const body = text.slice(0, star);
  const trailer = text.slice(star + 1);
  const tokens = body.split(' ');
  const ridToken = tokens[1];
  const rid = ridToken !== undefined && isSimRid(ridToken) ? { rid: ridToken } : {};
  if (!/^[0-9A-F]{4}$/.test(trailer)) return { ok: false, reason: 'syntax', detail: 'CRC trailer is not 4 upper-case hex digits', ...rid };

  const bytes = asciiBytes(body);
  if (bytes === undefined) return { ok: false, reason: 'syntax', detail: 'non-ASCII character', ...rid };
  const computed = simCrc16(bytes).toString(16).toUpperCase().padStart(4, '0');
  if (computed !== trailer) return { ok: false, reason: 'checksum', detail: `crc ${trailer}, computed ${computed}`, ...rid };

  const verb = tokens[0] ?? '';
  if (!isVerb(verb)) return { ok: false, reason: 'syntax', detail: `bad verb ${JSON.stringify(verb)}` };
  if (ridToken === undefined || !(isSimRid(ridToken) || (verb === 'NAK' && ridToken === '-'))) {
    return { ok: false, reason: 'syntax', detail: 'missing or invalid rid' };
  }
  const fields: [string, string][] = [];
  const seen = new Set<string>();
  for (const token of tokens.slice(2)) {
    const eq = token.indexOf('=');
    const key = eq < 0 ? token : token.slice(0, eq);
    const value = eq < 0 ? undefined : decodeFieldValue(token.slice(eq + 1));
    if (!isKey(key) || value === undefined || seen.has(key)) {
      return { ok: false, reason: 'syntax', detail: `bad field ${JSON.stringify(token)}`, rid: ridToken };
    }
    seen.add(key);
    fields.push([key, value]);
  }
  return { ok: true, line: { verb, rid: ridToken, fields } };
}

/** Value of field `key`, or `undefined`. */
export function fieldOf(line: WireLine, key: string): string | undefined {
  for (const [k, v] of line.fields) if (k === key) return v;
  return undefined;
}
