/**
 * Identifiers the agent mints: terminal request ids (`rid`) and WebSocket message ids.
 */
import { randomBytes, randomUUID } from 'node:crypto';

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

/** `bytes` random bytes as lower-case RFC 4648 base32 without padding. */
function base32(bytes: Uint8Array): string {
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += BASE32[(value << (5 - bits)) & 31];
  return out;
}

/**
 * A fresh PBL/1 request id: `prefix` + 80 random bits in base32 (`p` + 16 chars for a payment,
 * `i` for IDENT). Always within the dialect's `rid` grammar (≤ 36 of `A-Za-z0-9_-`).
 */
export function newRid(prefix = 'p'): string {
  return prefix + base32(randomBytes(10));
}

/** A fresh WebSocket message id. */
export function newMessageId(): string {
  return randomUUID();
}
