/**
 * What every admin route shares: its dependencies ({@link AdminContext}), the audit helper, and
 * the bounded parsing of query strings and bodies (zod), answering 400 `ADMIN_INVALID_REQUEST`.
 *
 * @see docs/admin-api.md
 */
import type { Request, RequestHandler, Response, Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { CodedError } from '@posbridge/protocol/errors';
import type { FailureLimiter } from '../http/rate-limit.ts';
import type { PaymentService } from '../payments/payment-service.ts';
import type { NewAuditEntry, PaymentStore } from '../ports/index.ts';
import type { Presence } from '../ports/presence.ts';
import type { AdminPrincipal } from './auth.ts';

/** Dependencies of the admin router (../http/app.ts builds it). */
export interface AdminContext {
  readonly store: PaymentStore;
  /** The use cases (an operator's resolution goes through `resolveUnknown` / `resolveUnknownOperation`). */
  readonly service: Pick<PaymentService, 'resolveUnknown' | 'resolveUnknownOperation'>;
  /** Where terminals are online right now (shared by the cluster when it is one). */
  readonly presence: Pick<Presence, 'locate'>;
  /** ms since epoch: audit times, expiries, redelivery times. */
  readonly now: () => number;
  readonly logger: Logger;
  /** Failed authentications and logins, per source (surface `admin`). */
  readonly limiter: FailureLimiter;
  /** Lifetime of a console session, ms (`POSBRIDGE_ADMIN_SESSION_TTL_MS`). */
  readonly sessionTtlMs: number;
  /** Cookies marked `Secure` even when the request itself is plain HTTP (TLS configured, or behind a configured proxy). */
  readonly secureCookies: boolean;
  /**
   * More routes, mounted after authentication (each checks its own role with `requireRole`):
   * ../admin-ext/ (pairing codes, token rotation and revocation, totals). @default none
   */
  readonly extensions?: readonly Router[];
}

/**
 * The admin audit row of an action (who, what, target, why, outcome, when: the injected clock).
 * A change passes it to the store call that makes the change (its `audit` argument), so the row
 * and the change commit in one transaction (docs/admin-api.md "Audit log").
 */
export function auditEntry(
  ctx: AdminContext,
  actor: AdminPrincipal | string,
  action: string,
  target: string,
  reason: string,
  outcome: string,
): NewAuditEntry {
  return { actor: typeof actor === 'string' ? actor : actor.actor, action, target, reason, outcome, at: ctx.now() };
}

/**
 * Writes the audit row of an attempt that changed nothing (a refusal, a failed login) on its own.
 * Never for a change: that carries {@link auditEntry} in its own store call.
 * @throws CodedError `STORE_FAILED`.
 */
export async function auditRefusal(
  ctx: AdminContext,
  actor: AdminPrincipal | string,
  action: string,
  target: string,
  reason: string,
  outcome: string,
): Promise<void> {
  await ctx.store.appendAudit(auditEntry(ctx, actor, action, target, reason, outcome));
}

/** Parses `value` with `schema`, or throws 400 `ADMIN_INVALID_REQUEST` naming the first problem. */
export function parseOr400<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue === undefined || issue.path.length === 0 ? what : `${what}.${issue.path.join('.')}`;
  throw new CodedError('ADMIN_INVALID_REQUEST', `${where}: ${issue?.message ?? 'invalid'}`);
}

/** An async route whose rejections go to the error handler. */
export function route(fn: (req: Request, res: Response) => Promise<void>): RequestHandler {
  return (req, res, next) => {
    fn(req, res).catch(next);
  };
}

/** An identifier in a query or path: 1–128 printable characters without spaces. */
export const Id = z.string().min(1).max(128).regex(/^[\x21-\x7e]+$/, 'must be 1-128 printable characters without spaces');

/** An operator's reason: 1–500 characters once trimmed. */
export const Reason = z.string().trim().min(1, 'is required').max(500);
