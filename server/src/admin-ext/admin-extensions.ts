/**
 * The routers of this folder as the admin API mounts them (../admin/router.ts `extensions`):
 * its role check (`requireRole`) and its caller (`principalOf`: actor `user:<name>` /
 * `token:<id>`, merchant scope) behind each route.
 */
import type { Request, Response, Router } from 'express';
import type { Logger } from 'pino';
import { principalOf, requireRole } from '../admin/auth.ts';
import type { AgentEnrolment } from '../enrolment/enrolment-service.ts';
import type { PaymentStore } from '../ports/index.ts';
import type { AdminCaller } from './admin-deps.ts';
import { createPairingRoutes } from './pairing-routes.ts';
import { createTotalsRoutes } from './totals-routes.ts';

/** The caller of an authenticated admin request. */
const caller: AdminCaller = {
  actorOf: (req: Request) => principalOf(req.res as Response).actor,
  merchantScopeOf: (req: Request) => principalOf(req.res as Response).merchantId,
};

/** The enrolment and totals routers, for `createAdminRouter({ extensions })`. */
export function adminExtensions(deps: { readonly enrolment: AgentEnrolment; readonly store: PaymentStore; readonly logger: Logger }): Router[] {
  return [
    createPairingRoutes({ enrolment: deps.enrolment, store: deps.store, logger: deps.logger, authorize: requireRole, ...caller }),
    createTotalsRoutes({ store: deps.store, logger: deps.logger, authorize: requireRole, ...caller }),
  ];
}
