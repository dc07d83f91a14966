/**
 * Console passwords, kept only as scrypt hashes (node:crypto `scrypt`, RFC 7914) with a random
 * 16-byte salt and the cost parameters in the stored string:
 * `scrypt$<N>$<r>$<p>$<salt base64url>$<hash base64url>` (32-byte hash). Verification reads the
 * parameters from the string (so they can be raised later) and compares in constant time.
 *
 * @see docs/admin-api.md "Authentication"
 */
import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** Cost of new hashes: N = 2^15, r = 8, p = 1 (about 32 MiB and tens of ms per hash). */
export const SCRYPT_PARAMS = { N: 32768, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;
/** Longest accepted password (bytes of UTF-8), so a hash never runs on unbounded input. */
export const MAX_PASSWORD_BYTES = 1024;
/** Shortest accepted password for a new user, characters. */
export const MIN_PASSWORD_LENGTH = 12;

function derive(password: string, salt: Buffer, params: { N: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { ...params, maxmem: 256 * params.N * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/**
 * Why `password` cannot be a new user's password, or null when it can (length
 * {@link MIN_PASSWORD_LENGTH}–{@link MAX_PASSWORD_BYTES} bytes).
 */
export function passwordProblem(password: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `the password must have at least ${MIN_PASSWORD_LENGTH} characters`;
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) return `the password must have at most ${MAX_PASSWORD_BYTES} bytes`;
  return null;
}

/** The stored form of `password` (a fresh salt each call). */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, SCRYPT_PARAMS);
  const { N, r, p } = SCRYPT_PARAMS;
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

/** Parameters of a stored hash, or null when it is not one of ours (or its costs are out of bounds). */
function parse(stored: string): { N: number; r: number; p: number; salt: Buffer; key: Buffer } | null {
  const m = /^scrypt\$(\d{1,7})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9_-]{16,64})\$([A-Za-z0-9_-]{32,128})$/.exec(stored);
  if (!m) return null;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (N < 2 || N > 1 << 20 || (N & (N - 1)) !== 0 || r < 1 || r > 32 || p < 1 || p > 16) return null;
  return { N, r, p, salt: Buffer.from(m[4] ?? '', 'base64url'), key: Buffer.from(m[5] ?? '', 'base64url') };
}

/**
 * True when `password` matches `stored`. A password over {@link MAX_PASSWORD_BYTES} or a stored
 * string that is not a valid hash never matches (the work is still done once, on a dummy, so a
 * wrong name and a wrong password take about as long).
 */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parse(stored);
  const tooLong = Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES;
  if (!parsed || tooLong) {
    await derive('dummy password', Buffer.alloc(16), SCRYPT_PARAMS);
    return false;
  }
  const key = await derive(password, parsed.salt, parsed);
  return key.length === parsed.key.length && timingSafeEqual(key, parsed.key);
}

/** A stored-looking hash that no password matches: what a login of an unknown name verifies against. */
export const NO_USER_HASH = `scrypt$${SCRYPT_PARAMS.N}$${SCRYPT_PARAMS.r}$${SCRYPT_PARAMS.p}$${'A'.repeat(22)}$${'A'.repeat(43)}`;
