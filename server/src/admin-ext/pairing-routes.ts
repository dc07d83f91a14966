/**
 * Admin routes of agent enrolment (docs/agent-enrolment.md "Rotation and revocation"), mounted by the admin API
 * under `/admin/v1`:
 *
 * | route | role | answer |
 * |---|---|---|
 * | `POST /stores/:storeId/pairing-codes` `{"agentName"?}` | admin | 201 `{code, merchantId, storeId, agentName, expiresAt}` (the code shown once) |
 * | `POST /agents/:agentId/token` | admin | 200 `{agentId, token}` (rotation; the token shown once) |
 * | `POST /agents/:agentId/revoke` `{"reason"?}` | admin | 200 `{agentId, revoked: true}`, or `revoked: false` when it was already |
 *
 * A caller limited to a merchant acts only on that merchant's stores and agents (others: 404,
 * as if absent). Errors are `{code, message, retryable}`; every action is audited with the
 * caller's actor by the enrolment service (../enrolment/enrolment-service.ts), and rotation and
 * revocation close the agent's sessions at once.
 */
import express, { type Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { CodedError } from '@posbridge/protocol/errors';
import type { AgentEnrolment } from '../enrolment/enrolment-service.ts';
import { wireErrorHandler } from '../http/errors.ts';
import { parseBody } from '../http/validation.ts';
import { MAX_AGENT_NAME_LENGTH } from '../ports/agent-enrolment.ts';
import type { PaymentStore } from '../ports/index.ts';
import type { AdminRouteDeps } from './admin-deps.ts';

/** What {@link createPairingRoutes} needs. */
export interface PairingRoutesDeps extends AdminRouteDeps {
  readonly enrolment: AgentEnrolment;
  readonly store: Pick<PaymentStore, 'agentOwner' | 'storeForPairing'>;
  readonly logger: Logger;
}

const ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A route parameter as one string ('' when absent or repeated). */
function param(req: express.Request, name: string): string {
  const value: unknown = req.params[name];
  return typeof value === 'string' ? value : '';
}
const CreateSchema = z.strictObject({ agentName: z.string().trim().min(1).max(MAX_AGENT_NAME_LENGTH).optional() });
const RevokeSchema = z.strictObject({ reason: z.string().trim().min(1).max(500).optional() });

/** The router of the enrolment admin routes (relative paths: mount it under `/admin/v1`). */
export function createPairingRoutes(deps: PairingRoutesDeps): Router {
  const log = deps.logger.child({ component: 'admin' });
  const router = express.Router();
  const json = express.json({ limit: 4096, type: () => true });
  const notFound = (what: string) => new CodedError('ADMIN_AGENT_UNKNOWN', `no ${what}`);

  /** The agent's merchant, refusing an unknown agent or one outside the caller's scope alike (404). */
  const agentInScope = async (req: express.Request, agentId: string): Promise<void> => {
    if (!ID.test(agentId)) throw notFound('agent with this id');
    const owner = await deps.store.agentOwner(agentId);
    const scope = deps.merchantScopeOf(req);
    if (owner === null || (scope !== null && owner.merchantId !== scope)) throw notFound('agent with this id');
  };

  router.post('/stores/:storeId/pairing-codes', deps.authorize('admin'), json, async (req, res) => {
    const storeId = param(req, 'storeId');
    const body = parseBody(CreateSchema, req.body ?? {}, 'pairing code');
    const store = ID.test(storeId) ? await deps.store.storeForPairing(storeId) : null;
    const scope = deps.merchantScopeOf(req);
    if (store === null || (scope !== null && store.merchantId !== scope)) throw new CodedError('ADMIN_AGENT_UNKNOWN', 'no store with this id');
    const issued = await deps.enrolment.createPairingCode({
      merchantId: store.merchantId,
      storeId,
      actor: deps.actorOf(req),
      ...(body.agentName === undefined ? {} : { agentName: body.agentName }),
    });
    res.status(201).setHeader('Cache-Control', 'no-store').json({ ...issued, expiresAt: new Date(issued.expiresAt).toISOString() });
  });

  router.post('/agents/:agentId/token', deps.authorize('admin'), async (req, res) => {
    const agentId = param(req, 'agentId');
    await agentInScope(req, agentId);
    const rotated = await deps.enrolment.rotateToken(agentId, deps.actorOf(req));
    res.status(200).setHeader('Cache-Control', 'no-store').json(rotated);
  });

  router.post('/agents/:agentId/revoke', deps.authorize('admin'), json, async (req, res) => {
    const agentId = param(req, 'agentId');
    const body = parseBody(RevokeSchema, req.body ?? {}, 'revoke');
    await agentInScope(req, agentId);
    const revoked = await deps.enrolment.revoke(agentId, deps.actorOf(req), body.reason);
    res.status(200).json({ agentId, revoked });
  });

  router.use(wireErrorHandler(log));
  return router;
}
