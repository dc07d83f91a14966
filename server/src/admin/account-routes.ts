/**
 * Accounts of the admin API: login and logout (the session cookie and its CSRF token), console
 * users, API tokens and the audit log. Users, tokens and the audit log need the `admin` role; a
 * merchant-scoped admin manages only users and tokens of its merchant and never makes one
 * stronger than itself or unscoped.
 *
 * @see docs/admin-api.md "Authentication", "Users and tokens", "Audit log"
 */
import { Router, type Response } from 'express';
import { z } from 'zod';
import { CodedError } from '@posbridge/protocol/errors';
import { ADMIN_ROLES, type AdminCredential, type AdminRole, type AdminUser } from '../ports/index.ts';
import { sourceKeyOf } from '../http/rate-limit.ts';
import { CSRF_COOKIE, cookieOf, principalOf, requireRole, sendAdminError, SESSION_COOKIE, type AdminPrincipal } from './auth.ts';
import { auditEntry, auditRefusal, Id, parseOr400, Reason, route, type AdminContext } from './context.ts';
import { issueApiToken, newUserId, openSession, roleAtLeast, secretHash } from './credentials.ts';
import { hashPassword, MAX_PASSWORD_BYTES, NO_USER_HASH, passwordProblem, verifyPassword } from './passwords.ts';

/** A login name: 1–59 characters of `A-Z a-z 0-9 . _ @ -` (so `user:<name>` fits an operator's 64, ../payments/resolve-unknown.ts). */
export const UserName = z.string().min(1).max(59).regex(/^[A-Za-z0-9._@-]+$/, 'must be 1-59 characters of A-Z a-z 0-9 . _ @ -');
const Role = z.enum(ADMIN_ROLES as [AdminRole, ...AdminRole[]]);

const LoginBody = z.object({ name: z.string().min(1).max(64), password: z.string().min(1).max(MAX_PASSWORD_BYTES) }).strict();
const UserBody = z.object({ name: UserName, password: z.string().max(MAX_PASSWORD_BYTES), role: Role, merchantId: Id.nullable().optional() }).strict();
const TokenBody = z
  .object({ label: z.string().trim().min(1).max(100), role: Role, merchantId: Id.nullable().optional(), expiresInDays: z.number().int().min(1).max(3650).optional() })
  .strict();
const DisableBody = z.object({ reason: Reason }).strict();
const AuditQuery = z.object({ limit: z.coerce.number().int().min(1).max(500).default(100), before: z.coerce.number().int().min(1).optional() }).strict();

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A user as the API shows it (never the password hash). */
export function userView(u: AdminUser): Record<string, unknown> {
  return { userId: u.userId, name: u.name, role: u.role, merchantId: u.merchantId, disabled: u.disabled, createdAt: iso(u.createdAt) };
}

/** A token as the API shows it (never its hash). */
export function tokenView(c: AdminCredential): Record<string, unknown> {
  return {
    credentialId: c.credentialId,
    label: c.label,
    role: c.role,
    merchantId: c.merchantId,
    userId: c.userId,
    createdAt: iso(c.createdAt),
    expiresAt: iso(c.expiresAt),
    revokedAt: iso(c.revokedAt),
  };
}

/**
 * The merchant scope a caller may give a new user or token: its own when scoped (asking another,
 * or none, is forbidden), else the one asked (which must exist).
 */
async function scopeFor(ctx: AdminContext, p: AdminPrincipal, asked: string | null | undefined): Promise<string | null> {
  if (p.merchantId !== null) {
    if (asked !== undefined && asked !== p.merchantId) throw new CodedError('ADMIN_FORBIDDEN', 'a merchant-scoped admin gives only its own merchant scope');
    return p.merchantId;
  }
  if (asked === undefined || asked === null) return null;
  if (!(await ctx.store.getMerchant(asked))) throw new CodedError('ADMIN_INVALID_REQUEST', `merchantId: no merchant ${JSON.stringify(asked)}`);
  return asked;
}

/** The login route (before authentication). */
export function loginRoutes(ctx: AdminContext): Router {
  const r = Router();
  r.post(
    '/session',
    route(async (req, res) => {
      const source = sourceKeyOf(req);
      if (await ctx.limiter.refuseIfLimited(req, res, source, 'wire')) return;
      const body = parseOr400(LoginBody, req.body ?? {}, 'body');
      const user = await ctx.store.findUserByName(body.name);
      const ok = await verifyPassword(body.password, user?.passwordHash ?? NO_USER_HASH);
      if (!user || !ok || user.disabled) {
        await ctx.limiter.fail(source);
        await auditRefusal(ctx, `user:${body.name}`, 'session.login', body.name, '', 'ADMIN_UNAUTHORIZED');
        sendAdminError(res, 'ADMIN_UNAUTHORIZED', 'wrong user name or password');
        return;
      }
      const now = ctx.now();
      // Sessions over for a day go at each login: the table holds about one lifetime of logins.
      await ctx.store.pruneSessions(now - 86_400_000);
      const session = await openSession(ctx.store, user, now, ctx.sessionTtlMs, (credentialId) =>
        auditEntry(ctx, `user:${user.name}`, 'session.login', credentialId, '', 'ok'),
      );
      const secure = ctx.secureCookies || req.secure;
      const maxAge = ctx.sessionTtlMs;
      res.cookie(SESSION_COOKIE, session.secret, { httpOnly: true, secure, sameSite: 'strict', path: '/admin/v1', maxAge });
      res.cookie(CSRF_COOKIE, session.csrfToken, { httpOnly: false, secure, sameSite: 'strict', path: '/', maxAge });
      res.json({ user: userView(user), csrfToken: session.csrfToken, expiresAt: iso(session.expiresAt) });
    }),
  );
  return r;
}

/** The account routes, mounted under `/admin/v1` after authentication. */
export function accountRoutes(ctx: AdminContext): Router {
  const r = Router();
  const scopedUser = async (p: AdminPrincipal, userId: string, res: Response): Promise<AdminUser | null> => {
    const user = await ctx.store.getUser(userId);
    if (!user || (p.merchantId !== null && user.merchantId !== p.merchantId)) {
      sendAdminError(res, 'ADMIN_NOT_FOUND', `no user ${JSON.stringify(userId)}`);
      return null;
    }
    return user;
  };

  r.get(
    '/session',
    route(async (_req, res) => {
      const p = principalOf(res);
      res.json({ principal: { actor: p.actor, role: p.role, merchantId: p.merchantId, kind: p.kind, credentialId: p.credentialId } });
    }),
  );

  r.delete(
    '/session',
    route(async (req, res) => {
      const p = principalOf(res);
      if (p.kind !== 'session') throw new CodedError('ADMIN_INVALID_REQUEST', 'only a console session logs out; revoke a token with DELETE /admin/v1/tokens/:credentialId');
      const secret = cookieOf(req, SESSION_COOKIE) ?? '';
      const credential = await ctx.store.findCredentialByHash(secretHash(secret));
      const logout = auditEntry(ctx, p, 'session.logout', p.credentialId, '', 'ok');
      // A session revoked meanwhile (another logout) changed nothing now: its row stands alone.
      if (!credential || !(await ctx.store.revokeCredential(credential.credentialId, ctx.now(), logout))) {
        await ctx.store.appendAudit({ ...logout, outcome: 'already revoked' });
      }
      res.clearCookie(SESSION_COOKIE, { path: '/admin/v1' });
      res.clearCookie(CSRF_COOKIE, { path: '/' });
      res.json({ loggedOut: true });
    }),
  );

  r.get(
    '/users',
    requireRole('admin'),
    route(async (_req, res) => {
      const p = principalOf(res);
      const users = (await ctx.store.listUsers()).filter((u) => p.merchantId === null || u.merchantId === p.merchantId);
      res.json({ users: users.map(userView) });
    }),
  );

  r.post(
    '/users',
    requireRole('admin'),
    route(async (req, res) => {
      const p = principalOf(res);
      const body = parseOr400(UserBody, req.body ?? {}, 'body');
      const problem = passwordProblem(body.password);
      if (problem) throw new CodedError('ADMIN_INVALID_REQUEST', `body.password: ${problem}`);
      const merchantId = await scopeFor(ctx, p, body.merchantId);
      if (await ctx.store.findUserByName(body.name)) throw new CodedError('ADMIN_INVALID_REQUEST', `body.name: user ${JSON.stringify(body.name)} exists`);
      const user: AdminUser = {
        userId: newUserId(),
        name: body.name,
        role: body.role,
        merchantId,
        passwordHash: await hashPassword(body.password),
        disabled: false,
        createdAt: ctx.now(),
      };
      await ctx.store.createUser(user, auditEntry(ctx, p, 'user.add', user.name, `role ${user.role}${merchantId === null ? '' : `, merchant ${merchantId}`}`, 'ok'));
      res.status(201).json({ user: userView(user) });
    }),
  );

  r.post(
    '/users/:userId/disable',
    requireRole('admin'),
    route(async (req, res) => {
      const p = principalOf(res);
      const userId = parseOr400(Id, req.params['userId'], 'path.userId');
      const { reason } = parseOr400(DisableBody, req.body ?? {}, 'body');
      const user = await scopedUser(p, userId, res);
      if (!user) return;
      if (!(await ctx.store.disableUser(userId, ctx.now(), auditEntry(ctx, p, 'user.disable', user.name, reason, 'ok')))) {
        sendAdminError(res, 'ADMIN_NOT_FOUND', `no user ${JSON.stringify(userId)}`);
        return;
      }
      res.json({ user: userView({ ...user, disabled: true }) });
    }),
  );

  r.get(
    '/tokens',
    requireRole('admin'),
    route(async (_req, res) => {
      const p = principalOf(res);
      const tokens = (await ctx.store.listCredentials('api')).filter((c) => p.merchantId === null || c.merchantId === p.merchantId);
      res.json({ tokens: tokens.map(tokenView) });
    }),
  );

  r.post(
    '/tokens',
    requireRole('admin'),
    route(async (req, res) => {
      const p = principalOf(res);
      const body = parseOr400(TokenBody, req.body ?? {}, 'body');
      if (!roleAtLeast(p.role, body.role)) throw new CodedError('ADMIN_FORBIDDEN', 'a token cannot have a stronger role than its maker');
      const merchantId = await scopeFor(ctx, p, body.merchantId);
      const now = ctx.now();
      const expiresAt = body.expiresInDays === undefined ? null : now + body.expiresInDays * 86_400_000;
      const why = `${body.label}: role ${body.role}${merchantId === null ? '' : `, merchant ${merchantId}`}`;
      const issued = await issueApiToken(ctx.store, {
        label: body.label,
        role: body.role,
        merchantId,
        userId: p.userId,
        now,
        expiresAt,
        audit: (credentialId) => auditEntry(ctx, p, 'token.add', credentialId, why, 'ok'),
      });
      res.status(201).json({
        token: { credentialId: issued.credentialId, label: body.label, role: body.role, merchantId, userId: p.userId, createdAt: iso(now), expiresAt: iso(expiresAt), revokedAt: null },
        secret: issued.token,
      });
    }),
  );

  r.delete(
    '/tokens/:credentialId',
    requireRole('admin'),
    route(async (req, res) => {
      const p = principalOf(res);
      const credentialId = parseOr400(Id, req.params['credentialId'], 'path.credentialId');
      const token = (await ctx.store.listCredentials('api')).find((c) => c.credentialId === credentialId);
      if (!token || (p.merchantId !== null && token.merchantId !== p.merchantId)) {
        sendAdminError(res, 'ADMIN_NOT_FOUND', `no token ${JSON.stringify(credentialId)}`);
        return;
      }
      const at = ctx.now();
      const entry = auditEntry(ctx, p, 'token.revoke', credentialId, token.label, 'ok');
      // Already revoked: nothing changes, so the attempt's row is written on its own.
      if (!(await ctx.store.revokeCredential(credentialId, at, entry))) await ctx.store.appendAudit({ ...entry, outcome: 'already revoked' });
      res.json({ token: tokenView({ ...token, revokedAt: token.revokedAt ?? at }) });
    }),
  );

  r.get(
    '/audit',
    requireRole('admin'),
    route(async (req, res) => {
      const p = principalOf(res);
      if (p.merchantId !== null) throw new CodedError('ADMIN_FORBIDDEN', 'the audit log covers every merchant: only an unscoped admin reads it');
      const q = parseOr400(AuditQuery, req.query, 'query');
      const rows = await ctx.store.listAudit(q.limit, q.before);
      res.json({ entries: rows.map((e) => ({ ...e, at: new Date(e.at).toISOString() })) });
    }),
  );

  return r;
}
