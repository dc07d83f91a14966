/**
 * Concert frames on Uint8Array: `STX | payload (ASCII) | ETX | LRC`, and a streaming parser
 * that turns whatever chunks the serial port delivers into control bytes and frames.
 *
 * The parser is indifferent to chunk boundaries (one byte at a time or everything at once
 * gives the same tokens), and never drops a byte silently: anything that is not a control
 * byte or part of a frame comes out as a `garbage` token for the caller to log.
 *
 *   idle ──STX──▶ payload ──ETX──▶ lrc ──any byte──▶ idle   (frame | bad_frame 'lrc')
 *    │             │  control byte / STX: bad_frame 'interrupted' (STX restarts a frame)
 *    │             │  > MAX_PAYLOAD_LENGTH: bad_frame 'too_long'
 *    │             └  non-ASCII byte: kept, frame reported bad_frame 'not_ascii' at ETX
 *    ├─ENQ/ACK/NAK/EOT──▶ control token
 *    └─other──▶ garbage token (runs of garbage are merged)
 *
 * @see docs/protocol/terminal-concert.md "Bytes"
 */
import { CONTROL_BYTES, ETX, MAX_PAYLOAD_LENGTH, STX, type ControlName } from './constants.ts';
import { concertLrc } from './lrc.ts';

/** What the parser recognised in the byte stream. */
export type ConcertToken =
  /** A single control byte outside a frame. */
  | { type: 'control'; name: ControlName }
  /** A frame with a good LRC; `payload` is its ASCII text. */
  | { type: 'frame'; payload: string; raw: Uint8Array }
  /** A frame that must be NAKed. `raw` holds the bytes that were part of it. */
  | { type: 'bad_frame'; reason: 'lrc' | 'too_long' | 'interrupted' | 'not_ascii'; raw: Uint8Array }
  /** Bytes outside any frame that mean nothing. */
  | { type: 'garbage'; raw: Uint8Array };

const CONTROL_BY_BYTE = new Map<number, ControlName>(
  Object.entries(CONTROL_BYTES).map(([name, byte]) => [byte, name as ControlName]),
);

/** True for the bytes a payload may hold: printable ASCII 0x20..0x7E. */
function isPayloadByte(b: number): boolean {
  return b >= 0x20 && b <= 0x7e;
}

/**
 * Encodes `payload` (printable ASCII) as a frame.
 * @throws RangeError when `payload` holds a character outside 0x20..0x7E or is too long.
 */
export function encodeConcertFrame(payload: string): Uint8Array {
  if (payload.length > MAX_PAYLOAD_LENGTH) throw new RangeError(`payload longer than ${MAX_PAYLOAD_LENGTH} chars`);
  const out = new Uint8Array(payload.length + 3);
  out[0] = STX;
  for (let i = 0; i < payload.length; i++) {
    const c = payload.charCodeAt(i);
    if (!isPayloadByte(c)) throw new RangeError(`payload char ${i} (0x${c.toString(16)}) is not printable ASCII`);
    out[i + 1] = c;
  }
  out[payload.length + 1] = ETX;
  out[payload.length + 2] = concertLrc(out.subarray(1, payload.length + 1));
  return out;
}

/** Result of {@link decodeConcertFrame}. */
export type FrameDecodeResult =
  | { ok: true; payload: string }
  | { ok: false; reason: 'short' | 'no_stx' | 'no_etx' | 'lrc' | 'not_ascii' };

/**
 * Decodes one complete frame, checking in the reference's order: STX first, ETX second-to-last,
 * then the LRC.
 */
export function decodeConcertFrame(bytes: Uint8Array): FrameDecodeResult {
  if (bytes.length < 3) return { ok: false, reason: 'short' };
  if (bytes[0] !== STX) return { ok: false, reason: 'no_stx' };
  if (bytes[bytes.length - 2] !== ETX) return { ok: false, reason: 'no_etx' };
  const payload = bytes.subarray(1, bytes.length - 2);
  if (concertLrc(payload) !== bytes[bytes.length - 1]) return { ok: false, reason: 'lrc' };
  let text = '';
  for (const b of payload) {
    if (!isPayloadByte(b)) return { ok: false, reason: 'not_ascii' };
    text += String.fromCharCode(b);
  }
  return { ok: true, payload: text };
}

/** Streaming parser of a Concert byte stream. Holds only the partial frame between pushes. */
export class ConcertFrameParser {
  #state: 'idle' | 'payload' | 'lrc' = 'idle';
  #buf: number[] = [];
  #garbage: number[] = [];
  #bad = false;

  /** True while a frame has started and is not complete (for inter-byte time-outs). */
  get inFrame(): boolean {
    return this.#state !== 'idle';
  }

  /** Feeds bytes; returns the tokens completed by them, in order. */
  push(chunk: Uint8Array): ConcertToken[] {
    const out: ConcertToken[] = [];
    for (const b of chunk) this.#byte(b, out);
    this.#flushGarbage(out);
    return out;
  }

  /**
   * Abandons a partial frame (inter-byte time-out, link reset).
   * @returns the abandoned frame as a `bad_frame` token, or undefined when none was open.
   */
  reset(): Extract<ConcertToken, { type: 'bad_frame' }> | undefined {
    const open = this.#state !== 'idle';
    const raw = Uint8Array.from(this.#buf);
    this.#state = 'idle';
    this.#buf = [];
    this.#bad = false;
    return open ? { type: 'bad_frame', reason: 'interrupted', raw } : undefined;
  }

  #flushGarbage(out: ConcertToken[]): void {
    if (this.#garbage.length > 0) {
      out.push({ type: 'garbage', raw: Uint8Array.from(this.#garbage) });
      this.#garbage = [];
    }
  }

  #byte(b: number, out: ConcertToken[]): void {
    switch (this.#state) {
      case 'idle': {
        const control = CONTROL_BY_BYTE.get(b);
        if (b === STX) {
          this.#flushGarbage(out);
          this.#state = 'payload';
          this.#buf = [b];
          this.#bad = false;
        } else if (control !== undefined) {
          this.#flushGarbage(out);
          out.push({ type: 'control', name: control });
        } else {
          this.#garbage.push(b);
        }
        return;
      }
      case 'payload':
        if (b === ETX) {
          this.#buf.push(b);
          this.#state = 'lrc';
          return;
        }
        if (b < 0x20) {
          // A control byte inside a frame: the frame is broken; the byte starts over.
          const raw = Uint8Array.from(this.#buf);
          this.#state = 'idle';
          this.#buf = [];
          out.push({ type: 'bad_frame', reason: 'interrupted', raw });
          this.#byte(b, out);
          return;
        }
        if (!isPayloadByte(b)) this.#bad = true;
        this.#buf.push(b);
        if (this.#buf.length - 1 > MAX_PAYLOAD_LENGTH) {
          const raw = Uint8Array.from(this.#buf);
          this.#state = 'idle';
          this.#buf = [];
          out.push({ type: 'bad_frame', reason: 'too_long', raw });
        }
        return;
      case 'lrc': {
        this.#buf.push(b);
        const raw = Uint8Array.from(this.#buf);
        this.#state = 'idle';
        this.#buf = [];
        const decoded = decodeConcertFrame(raw);
        if (decoded.ok) out.push({ type: 'frame', payload: decoded.payload, raw });
        else out.push({ type: 'bad_frame', reason: this.#bad || decoded.reason === 'not_ascii' ? 'not_ascii' : 'lrc', raw });
        return;
      }
      default: {
        const never: never = this.#state;
        throw new TypeError(`parser state ${String(never)}`);
      }
    }
  }
}

/** Lower-case hex of `bytes`, space separated (for wire traces and fixtures). */
export function toHex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join(' ');
}

/**
 * Parses hex text as written in `test/fixtures/frames/*.hex`: `#` lines are comments, other
 * lines hold two-digit hex bytes separated by white space.
 * @throws RangeError on anything that is not a hex byte.
 */
export function fromHex(text: string): Uint8Array {
  const tokens = text
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('#'))
    .join(' ')
    .trim()
    .split(/\s+/)
    .filter((t) => t.length > 0);
  return Uint8Array.from(tokens, (t) => {
    if (!/^[0-9a-fA-F]{2}$/.test(t)) throw new RangeError(`not a hex byte: ${t}`);
    return parseInt(t, 16);
  });
}
