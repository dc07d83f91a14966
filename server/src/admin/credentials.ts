/**
 * Console credentials: API tokens (`pbk_…`, sent as `Authorization: Bearer`) and sessions
 * (`pbs_…`, the `posbridge_session` cookie). Each secret is 32 random bytes, kept in the store
 * only as its sha256 hex, with a public id (`tok_…`/`ses_…`) to list and revoke it by. A
 * session's CSRF token is derived from its secret (HMAC-SHA256 keyed by it), so it needs no row
 * of its own and cannot be made without the cookie.
 *
 * @see docs/admin-api.md "Authentication"
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { AdminPort, AdminRole, NewAuditEntry } from '../ports/admin.ts';

/** Prefix of API tokens. */
export const API_TOKEN_PREFIX = 'pbk_';
/** Prefix of session secrets. */
export const SESSION_PREFIX = 'pbs_';

/** sha256 hex of a secret (what the store keeps). */
export function secretHash(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** The CSRF token of a session secret (base64url HMAC-SHA256). */
export function csrfTokenOf(sessionSecret: string): string {
  return createHmac('sha256', sessionSecret).update('posbridge admin csrf v1').digest('base64url');
}

/** True when `sent` is the CSRF token of `sessionSecret` (constant time over digests). */
export function csrfMatches(sessionSecret: string, sent: string): boolean {
  const a = createHash('sha256').update(csrfTokenOf(sessionSecret)).digest();
  const b = createHash('sha256').update(sent).digest();
  return timingSafeEqual(a, b);
}

function newId(prefix: string): string {
  return `${prefix}${randomUUID().replaceAll('-', '')}`;
}

/** What an API token is for. */
export interface NewApiToken {
  /** Label shown in listings, 1–100 characters. */
  readonly label: string;
  readonly role: AdminRole;
  /** Only this merchant; null: every merchant. */
  readonly merchantId: string | null;
  /** User who made it (console), or null (CLI). */
  readonly userId: string | null;
  /** ms since epoch. */
  readonly now: number;
  /** ms since epoch, or null: never. */
  readonly expiresAt: number | null;
  /** The audit row of the issue (given the new credentialId; never the secret), stored in the same transaction as the token. */
  readonly audit?: (credentialId: string) => NewAuditEntry;
}

/** An issued token: the secret is shown once and never again. */
export interface IssuedApiToken {
  readonly credentialId: string;
  readonly token: string;
}

/**
 * Issues an API token: stores its hash (with `t.audit`'s row, in one transaction) and answers the secret.
 * @throws CodedError `CFG_INVALID` (a taken id or hash: practically never), `STORE_FAILED`.
 */
export async function issueApiToken(store: Pick<AdminPort, 'createCredential'>, t: NewApiToken): Promise<IssuedApiToken> {
  const token = `${API_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
  const credentialId = newId('tok_');
  await store.createCredential(
    {
      credentialId,
      kind: 'api',
      secretSha256: secretHash(token),
      label: t.label,
      userId: t.userId,
      role: t.role,
      merchantId: t.merchantId,
      createdAt: t.now,
      expiresAt: t.expiresAt,
      revokedAt: null,
    },
    t.audit?.(credentialId),
  );
  return { credentialId, token };
}

/** An opened session: the cookie value and its CSRF token. */
export interface OpenedSession {
  readonly credentialId: string;
  readonly secret: string;
  readonly csrfToken: string;
  readonly expiresAt: number;
}

/**
 * Opens a session of a user (role and scope copied from the user), with `audit`'s row (given the
 * new session's credentialId; never the secret) in the same transaction. @throws as {@link issueApiToken}.
 */
export async function openSession(
  store: Pick<AdminPort, 'createCredential'>,
  user: { userId: string; name: string; role: AdminRole; merchantId: string | null },
  now: number,
  ttlMs: number,
  audit?: (credentialId: string) => NewAuditEntry,
): Promise<OpenedSession> {
  const secret = `${SESSION_PREFIX}${randomBytes(32).toString('base64url')}`;
  const credentialId = newId('ses_');
  const expiresAt = now + ttlMs;
  await store.createCredential(
    {
      credentialId,
      kind: 'session',
      secretSha256: secretHash(secret),
      label: user.name,
      userId: user.userId,
      role: user.role,
      merchantId: user.merchantId,
      createdAt: now,
      expiresAt,
      revokedAt: null,
    },
    audit?.(credentialId),
  );
  return { credentialId, secret, csrfToken: csrfTokenOf(secret), expiresAt };
}

/** A new user id. */
export function newUserId(): string {
  return newId('usr_');
}

/** True when `role` is at least `needed` (viewer < operator < admin). */
export function roleAtLeast(role: AdminRole, needed: AdminRole): boolean {
  const rank: Record<AdminRole, number> = { viewer: 0, operator: 1, admin: 2 };
  return rank[role] >= rank[needed];
}
