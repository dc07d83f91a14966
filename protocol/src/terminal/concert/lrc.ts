/**
 * Longitudinal redundancy check of a Concert frame.
 *
 * LRC = XOR of every payload byte and of ETX (STX excluded), one byte.
 * @see docs/protocol/terminal-concert.md "Bytes"
 */
import { ETX } from './constants.ts';

/**
 * LRC of `payload` (the bytes between STX and ETX).
 * @returns a byte, 0..255.
 */
export function concertLrc(payload: Uint8Array): number {
  let x = ETX;
  for (const b of payload) x ^= b;
  return x;
}
