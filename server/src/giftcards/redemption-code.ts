/**
 * Redemption codes of the built-in ledger: what the shopper types at checkout (`cart.redemptionCode`
 * of the Gift Card Hub's search) to use a card.
 *
 * A code is {@link REDEMPTION_CODE_BYTES} bytes (96 bits) from `node:crypto` `randomBytes` (the
 * OS CSPRNG), written as 20 Crockford base-32 characters in groups of four
 * (`XXXX-XXXX-XXXX-XXXX-XXXX`; 100 bits of room, the first character carries the top bits). It is
 * shown once, when the card is issued, and only its digest is stored.
 *
 * Why HMAC-SHA256 with a server-side pepper, not a password hash (scrypt/argon2): a password
 * hash is slow to make guessing a *low-entropy* secret expensive. A redemption code has 96
 * random bits, so guessing it is already out of reach (2^95 tries on average) however fast each
 * try is; a slow hash would only slow down every checkout lookup. The lookup must also be by
 * digest (an index on it), which a salted password hash cannot give. The pepper (a secret that
 * lives in the configuration, not in the database) means a stolen copy of the database alone does
 * not even let an attacker check a guess offline. Online guessing is bounded by the HTTP edge's
 * rate limit on failed lookups.
 *
 * @see https://datatracker.ietf.org/doc/html/rfc2104 (HMAC), https://www.crockford.com/base32.html
 */
import { createHmac, randomBytes } from 'node:crypto';

/** Random bytes in a code (96 bits ≥ the 80 the ledger requires). */
export const REDEMPTION_CODE_BYTES = 12;

/** Shortest pepper accepted, bytes (the HMAC key). */
export const MIN_PEPPER_BYTES = 16;

const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'; // Crockford: no I, L, O, U
const CODE_CHARS = 20;

/** A new redemption code, `XXXX-XXXX-XXXX-XXXX-XXXX` (show it once; store {@link redemptionCodeDigest} of it). */
export function newRedemptionCode(random: (n: number) => Uint8Array = randomBytes): string {
  const bytes = random(REDEMPTION_CODE_BYTES);
  if (bytes.length !== REDEMPTION_CODE_BYTES) throw new RangeError('the random source gave the wrong number of bytes');
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let chars = '';
  for (let i = 0; i < CODE_CHARS; i++) {
    chars = (ALPHABET[Number(n & 31n)] ?? '0') + chars;
    n >>= 5n;
  }
  return chars.match(/.{4}/g)?.join('-') ?? chars;
}

/**
 * The canonical form of a typed code: upper case, separators and spaces dropped, and Crockford's
 * look-alikes mapped (`O`→`0`, `I`/`L`→`1`), so `abcd efgh-…` finds the card issued as `ABCD-EFGH-…`.
 * @returns null when it cannot be a code (wrong length or characters), so no lookup is made.
 */
export function normalizeRedemptionCode(typed: string): string | null {
  if (typed.length > 64) return null;
  const s = typed.toUpperCase().replace(/[\s-]/g, '').replace(/O/g, '0').replace(/[IL]/g, '1');
  if (s.length !== CODE_CHARS) return null;
  for (const c of s) if (!ALPHABET.includes(c)) return null;
  return s;
}

/**
 * HMAC-SHA256 of the normalized code under `pepper`, lowercase hex (64 characters): what the store
 * keeps and looks cards up by. A code that cannot be a code ({@link normalizeRedemptionCode})
 * yields null.
 * @throws RangeError when the pepper is shorter than {@link MIN_PEPPER_BYTES}.
 */
export function redemptionCodeDigest(code: string, pepper: Uint8Array): string | null {
  if (pepper.length < MIN_PEPPER_BYTES) throw new RangeError(`the redemption-code pepper must be at least ${MIN_PEPPER_BYTES} bytes`);
  const normal = normalizeRedemptionCode(code);
  if (normal === null) return null;
  return createHmac('sha256', pepper).update(normal).digest('hex');
}
