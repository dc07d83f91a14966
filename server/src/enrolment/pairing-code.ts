/**
 * Pairing codes (docs/agent-enrolment.md): 10 characters of Crockford's base32 alphabet
 * (`0-9 A-Z` without `I L O U`, so nothing reads as another character), 50 bits from the CSPRNG,
 * shown as `XXXXX-XXXXX`. What a person types is normalised first: case, `-` and white space
 * ignored, `O` read as `0` and `I`/`L` as `1` (Crockford's decoding). Only the sha256 hex of the
 * normalised code is stored.
 *
 * @see https://www.crockford.com/base32.html
 */
import { createHash, randomBytes } from 'node:crypto';

/** The 32 symbols of a code. */
export const PAIRING_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/** Symbols of a code (5 bits each: 50 bits). */
export const PAIRING_CODE_LENGTH = 10;

/** Longest text accepted as a typed code before normalising (characters). */
export const MAX_TYPED_CODE_LENGTH = 32;

/** A fresh code, normalised (no separator). 256 is a multiple of 32, so `byte & 31` is uniform. */
export function newPairingCode(): string {
  const bytes = randomBytes(PAIRING_CODE_LENGTH);
  let code = '';
  for (const b of bytes) code += PAIRING_ALPHABET[b & 31];
  return code;
}

/** `ABCDE12345` → `ABCDE-12345`, as shown to a person. */
export function formatPairingCode(code: string): string {
  return `${code.slice(0, 5)}-${code.slice(5)}`;
}

/**
 * The normalised code of what a person typed, or null when it cannot be one (too long, wrong
 * length, a symbol outside the alphabet).
 */
export function normalisePairingCode(typed: string): string | null {
  if (typed.length > MAX_TYPED_CODE_LENGTH) return null;
  const code = typed.toUpperCase().replace(/[\s-]/g, '').replaceAll('O', '0').replace(/[IL]/g, '1');
  if (code.length !== PAIRING_CODE_LENGTH) return null;
  for (const ch of code) if (!PAIRING_ALPHABET.includes(ch)) return null;
  return code;
}

/** sha256 hex of a normalised code (the only form stored). */
export function pairingCodeDigest(code: string): string {
  return createHash('sha256').update(code, 'utf8').digest('hex');
}
