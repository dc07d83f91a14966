/**
 * What the admin route factories of this folder need from the admin API (`/admin/v1`, its
 * accounts, roles, sessions and tokens): a middleware per role, and who the caller is. The admin
 * API mounts each factory's router under `/admin/v1` and passes its own authorizer; tests pass a
 * simple one. Nothing here authenticates by itself.
 */
import type { Request, RequestHandler } from 'express';

/** Roles of the console, weakest first (issue 14 item 2). */
export type AdminRole = 'viewer' | 'operator' | 'admin';

/**
 * A middleware that lets a request through only when its caller is authenticated (401 otherwise)
 * and holds `role` or a stronger one (403 otherwise).
 */
export type Authorize = (role: AdminRole) => RequestHandler;

/** Who an authorised request comes from (read after {@link Authorize} let it through). */
export interface AdminCaller {
  /** The actor recorded in the audit log, e.g. `admin:<account>` or `token:<tokenId>`. */
  actorOf(req: Request): string;
  /** The merchant the caller is limited to, or null for every merchant. */
  merchantScopeOf(req: Request): string | null;
}

/** What every factory of this folder takes. */
export interface AdminRouteDeps extends AdminCaller {
  readonly authorize: Authorize;
}
