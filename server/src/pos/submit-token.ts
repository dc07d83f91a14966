/**
 * submitUrl tokens: `base64url(paymentId) + "." + base64url(HMAC-SHA256(secret, "submit:v1:" + paymentId))`.
 *
 * Deterministic (every Create Payment repeat answers the same submitUrl), unguessable without
 * the secret, and self-describing, so the submit route finds the payment without a lookup table.
 * The token is the only credential of the submit route (the Payment App cannot send PPP keys).
 *
 * @see docs/protocol/vtex-ppp.md §5.4
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const PREFIX = 'submit:v1:';

function mac(secret: string, paymentId: string): Buffer {
  return createHmac('sha256', secret).update(PREFIX + paymentId, 'utf8').digest();
}

/** Builds the submit token of `paymentId`. */
export function createSubmitToken(secret: string, paymentId: string): string {
  return `${Buffer.from(paymentId, 'utf8').toString('base64url')}.${mac(secret, paymentId).toString('base64url')}`;
}

/**
 * Checks a token (constant-time on the MAC).
 * @returns the paymentId it was issued for, or null when it is malformed or forged.
 */
export function verifySubmitToken(secret: string, token: string): string | null {
  if (token.length > 512) return null;
  const dot = token.indexOf('.');
  if (dot <= 0 || dot !== token.lastIndexOf('.')) return null;
  const idPart = token.slice(0, dot);
  const macPart = token.slice(dot + 1);
  if (!/^[A-Za-z0-9_-]+$/.test(idPart) || !/^[A-Za-z0-9_-]+$/.test(macPart)) return null;
  const paymentId = Buffer.from(idPart, 'base64url').toString('utf8');
  // Reject non-canonical encodings so each payment has exactly one valid token.
  if (Buffer.from(paymentId, 'utf8').toString('base64url') !== idPart) return null;
  const given = Buffer.from(macPart, 'base64url');
  // Same for the MAC: its last character has 2 unused bits, so 4 spellings would decode alike.
  if (given.toString('base64url') !== macPart) return null;
  const expected = mac(secret, paymentId);
  if (given.length !== expected.length) return null;
  return timingSafeEqual(given, expected) ? paymentId : null;
}

/** The full submitUrl for `paymentId`. `publicUrl` has no trailing slash. */
export function submitUrlFor(publicUrl: string, secret: string, paymentId: string): string {
  return `${publicUrl}/pos/v1/submit/${createSubmitToken(secret, paymentId)}`;
}

/** The Payment App URLs of `paymentId` (submit, status, terminals, cancel), all carrying the same token. */
export function appUrlsFor(
  publicUrl: string,
  secret: string,
  paymentId: string,
): { submitUrl: string; statusUrl: string; terminalsUrl: string; cancelUrl: string } {
  const token = createSubmitToken(secret, paymentId);
  return {
    submitUrl: `${publicUrl}/pos/v1/submit/${token}`,
    statusUrl: `${publicUrl}/pos/v1/status/${token}`,
    terminalsUrl: `${publicUrl}/pos/v1/terminals/${token}`,
    cancelUrl: `${publicUrl}/pos/v1/cancel/${token}`,
  };
}
