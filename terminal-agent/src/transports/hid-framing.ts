/**
 * Vendor-report framing for HID payment devices: a message longer than one fixed-size HID
 * report is split into segments and reassembled on the other side.
 *
 * One report (`reportBytes` long, without the HID report id):
 *
 *   byte 0   bit 7 = last segment of the message, bits 0..6 = segment index (mod 128)
 *   byte 1   number of payload bytes in this report (0 .. reportBytes - 2)
 *   2 ..     payload, zero padded to the report size
 *
 * The reassembler is a pure state holder: it returns whole messages, and reports a gap in the
 * segment numbering (a lost report) as an error token and starts over, never gluing two
 * halves of different messages together.
 *
 * @see docs/protocol/terminal-hid.md "What HID is used for"
 */

/** Header bytes of each report. */
export const HID_HEADER_BYTES = 2;
const LAST = 0x80;

/**
 * Splits `message` into reports of exactly `reportBytes` bytes.
 * @throws RangeError when `reportBytes` is below 3 or above 257.
 */
export function segmentHidMessage(message: Uint8Array, reportBytes: number): Uint8Array[] {
  if (reportBytes < HID_HEADER_BYTES + 1 || reportBytes > 257) throw new RangeError('reportBytes must be 3..257');
  const room = reportBytes - HID_HEADER_BYTES;
  const count = Math.max(1, Math.ceil(message.length / room));
  const reports: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const part = message.subarray(i * room, (i + 1) * room);
    const report = new Uint8Array(reportBytes);
    report[0] = (i & 0x7f) | (i === count - 1 ? LAST : 0);
    report[1] = part.length;
    report.set(part, HID_HEADER_BYTES);
    reports.push(report);
  }
  return reports;
}

/** What the reassembler produced from one report. */
export type HidReassembly = { type: 'message'; message: Uint8Array } | { type: 'error'; reason: string } | { type: 'partial' };

/** Reassembles messages from reports, in order. */
export class HidReassembler {
  #parts: Uint8Array[] = [];
  #next = 0;

  /** Feeds one report (without its report id). */
  push(report: Uint8Array): HidReassembly {
    if (report.length < HID_HEADER_BYTES) return this.#fail('report shorter than its header');
    const header = report[0] ?? 0;
    const length = report[1] ?? 0;
    const index = header & 0x7f;
    if (length > report.length - HID_HEADER_BYTES) return this.#fail(`segment length ${length} exceeds the report`);
    if (index !== this.#next) {
      // A new message starting at 0 after a lost tail: drop the old parts, keep this one.
      const lost = this.#parts.length > 0;
      this.#parts = [];
      this.#next = 0;
      if (index !== 0) return this.#fail(`segment ${index} out of order`);
      if (lost) {
        this.#take(report, length);
        return header & LAST ? this.#finish() : { type: 'error', reason: 'previous message incomplete' };
      }
    }
    this.#take(report, length);
    return header & LAST ? this.#finish() : { type: 'partial' };
  }

  #take(report: Uint8Array, length: number): void {
    this.#parts.push(report.slice(HID_HEADER_BYTES, HID_HEADER_BYTES + length));
    this.#next = (this.#next + 1) & 0x7f;
  }

  #finish(): HidReassembly {
    const total = this.#parts.reduce((n, p) => n + p.length, 0);
    const message = new Uint8Array(total);
    let at = 0;
    for (const p of this.#parts) {
      message.set(p, at);
      at += p.length;
    }
    this.#parts = [];
    this.#next = 0;
    return { type: 'message', message };
  }

  #fail(reason: string): HidReassembly {
    this.#parts = [];
    this.#next = 0;
    return { type: 'error', reason };
  }
}
