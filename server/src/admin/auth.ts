/**
 * Who calls the admin API: an API token (`Authorization: Bearer pbk_…`) or a console session
 * (the `posbridge_session` cookie, whose unsafe requests must also carry the session's
 * `X-CSRF-Token`). A credential counts only when it exists, is not revoked, has not expired and
 * its user (if any) is not disabled. Every failed authentication counts toward the source's
 * limit (../http/rate-limit.ts, surface `admin`). Then the route's role
 * ({@link requireRole}) and the merchant scope ({@link inScope}) decide.
 *
 * @see docs/admin-api.md "Authentication", "Roles"
 */
import type { Request, RequestHandler, Response } from 'express';
import type { Logger } from 'pino';
import { ERROR_CODES, type ErrorCode } from '@posbridge/protocol/errors';
import type { AdminCredential, AdminPort, AdminRole, CredentialKind } from '../ports/admin.ts';
import { sourceKeyOf, type FailureLimiter } from '../http/rate-limit.ts';
import { csrfMatches, roleAtLeast, secretHash } from './credentials.ts';

/** Name of the session cookie (HttpOnly). */
export const SESSION_COOKIE = 'posbridge_session';
/** Name of the cookie carrying the session's CSRF token (readable by the console's scripts). */
export const CSRF_COOKIE = 'posbridge_csrf';
/** Header a cookie-authenticated unsafe request must carry. */
export const CSRF_HEADER = 'x-csrf-token';

/** The authenticated caller of an admin request (`res.locals.admin`). */
export interface AdminPrincipal {
  /** For the audit log: `user:<name>` or `token:<credentialId>`. */
  readonly actor: string;
  readonly role: AdminRole;
  /** Only this merchant's data; null: every merchant. */
  readonly merchantId: string | null;
  readonly credentialId: string;
  readonly kind: CredentialKind;
  readonly userId: string | null;
}

/** What {@link adminAuth} needs. */
export interface AdminAuthDeps {
  readonly store: AdminPort;
  /** ms since epoch. */
  readonly now: () => number;
  readonly limiter: FailureLimiter;
  readonly logger: Logger;
}

/** Sends an admin error: `{code, message, retryable}` with the catalogue's status. */
export function sendAdminError(res: Response, code: ErrorCode, message?: string): void {
  const entry = ERROR_CODES[code] as { message: string; retryable: boolean; httpStatus?: number };
  res.status(entry.httpStatus ?? 500).json({ code, message: message ?? entry.message, retryable: entry.retryable });
}

/** The value of cookie `name` in the request's Cookie header, or undefined (bounded: at most 4 KB read). */
export function cookieOf(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined || header.length > 4096) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const SECRET = /^[A-Za-z0-9_-]{8,200}$/;

/** The principal of the request (set by {@link adminAuth}). */
export function principalOf(res: Response): AdminPrincipal {
  const p = res.locals['admin'] as AdminPrincipal | undefined;
  if (p === undefined) throw new Error('admin route without adminAuth');
  return p;
}

/** The credential the request authenticated with (set by {@link adminAuth}; its hash, expiry and revocation as read then). */
export function credentialOf(res: Response): AdminCredential {
  const c = res.locals['adminCredential'] as AdminCredential | undefined;
  if (c === undefined) throw new Error('admin route without adminAuth');
  return c;
}

/** Authenticates an admin request (see the module comment); answers 401/403/429 itself. */
export function adminAuth(deps: AdminAuthDeps): RequestHandler {
  const log = deps.logger.child({ component: 'admin' });
  return async (req, res, next) => {
    try {
      const source = sourceKeyOf(req);
      if (await deps.limiter.refuseIfLimited(req, res, source, 'wire')) return;
      // Only a presented secret that matches nothing (a guess) counts toward the source's limit:
      // no credentials at all (a console page checking its session) or an expired, revoked or
      // disabled one is refused without counting, so a person's ordinary visits never lock them out.
      const refuse = async (why: string, guess = false): Promise<void> => {
        if (guess) await deps.limiter.fail(source);
        log.info({ method: req.method, path: req.baseUrl + req.path, why }, 'admin request refused: unauthenticated');
        sendAdminError(res, 'ADMIN_UNAUTHORIZED');
      };
      const authorization = req.headers.authorization;
      const cookie = cookieOf(req, SESSION_COOKIE);
      let secret: string;
      let via: CredentialKind;
      if (authorization !== undefined) {
        const m = /^Bearer ([^\s]+)$/.exec(authorization);
        if (!m || !SECRET.test(m[1] ?? '')) return await refuse('malformed bearer', true);
        secret = m[1] ?? '';
        via = 'api';
      } else if (cookie !== undefined) {
        if (!SECRET.test(cookie)) return await refuse('malformed cookie', true);
        secret = cookie;
        via = 'session';
      } else {
        return await refuse('no credentials');
      }
      const credential = await deps.store.findCredentialByHash(secretHash(secret));
      const now = deps.now();
      if (!credential || credential.kind !== via) return await refuse('unknown credential', true);
      if (credential.revokedAt !== null) return await refuse('revoked');
      if (credential.expiresAt !== null && credential.expiresAt <= now) return await refuse('expired');
      let actor = `token:${credential.credentialId}`;
      if (credential.userId !== null) {
        const user = await deps.store.getUser(credential.userId);
        if (!user || user.disabled) return await refuse('user disabled');
        if (via === 'session') actor = `user:${user.name}`;
      }
      if (via === 'session' && !SAFE_METHODS.has(req.method)) {
        const sent = req.headers[CSRF_HEADER];
        if (typeof sent !== 'string' || !csrfMatches(secret, sent)) {
          log.warn({ method: req.method, path: req.baseUrl + req.path, actor }, 'admin request refused: CSRF token missing or wrong');
          sendAdminError(res, 'ADMIN_CSRF_REFUSED');
          return;
        }
      }
      const principal: AdminPrincipal = {
        actor,
        role: credential.role,
        merchantId: credential.merchantId,
        credentialId: credential.credentialId,
        kind: credential.kind,
        userId: credential.userId,
      };
      res.locals['admin'] = principal;
      res.locals['adminCredential'] = credential;
      next();
    } catch (err) {
      next(err);
    }
  };
}

/** Refuses (403 `ADMIN_FORBIDDEN`) a caller whose role is below `needed`. */
export function requireRole(needed: AdminRole): RequestHandler {
  return (_req, res, next) => {
    const p = principalOf(res);
    if (!roleAtLeast(p.role, needed)) {
      sendAdminError(res, 'ADMIN_FORBIDDEN', `this needs the ${needed} role; these credentials have ${p.role}`);
      return;
    }
    next();
  };
}

/** True when the caller may see `merchantId`'s objects. */
export function inScope(p: AdminPrincipal, merchantId: string): boolean {
  return p.merchantId === null || p.merchantId === merchantId;
}
