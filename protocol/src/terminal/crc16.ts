/**
 * CRC-16/CCITT-FALSE: width 16, polynomial 0x1021, initial value 0xFFFF, no reflection,
 * no final XOR. Check value for the ASCII bytes of `123456789` is 0x29B1.
 *
 * Used as the per-line checksum of the posbridge line dialect (docs/protocol/terminal-line.md).
 * Stronger than an XOR/LRC: it also catches swapped and doubled characters.
 *
 * @see https://reveng.sourceforge.io/crc-catalogue/16.htm#crc.cat.crc-16-ibm-3740
 */

/** Polynomial of CRC-16/CCITT. */
const POLY = 0x1021;

const TABLE: Uint16Array = (() => {
  const table = new Uint16Array(256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ POLY) & 0xffff : (crc << 1) & 0xffff;
    table[byte] = crc;
  }
  return table;
})();

/**
 * CRC-16/CCITT-FALSE of a sequence of bytes (0–255 each).
 * @returns the CRC as an integer 0–0xFFFF.
 */
export function crc16ccitt(bytes: Iterable<number>): number {
  let crc = 0xffff;
  for (const b of bytes) crc = ((crc << 8) & 0xffff) ^ (TABLE[((crc >> 8) ^ b) & 0xff] ?? 0);
  return crc;
}

/**
 * CRC-16/CCITT-FALSE of an ASCII string, as four upper-case hex digits (`"29B1"`).
 * @throws RangeError when the string holds a character outside 0x00–0x7F.
 */
export function crc16Hex(ascii: string): string {
  const codes: number[] = [];
  for (let i = 0; i < ascii.length; i++) {
    const code = ascii.charCodeAt(i);
    if (code > 0x7f) throw new RangeError(`non-ASCII character at index ${i}`);
    codes.push(code);
  }
  return crc16ccitt(codes).toString(16).toUpperCase().padStart(4, '0');
}
