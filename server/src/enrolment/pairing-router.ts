/**
 * The public pairing endpoint (docs/agent-enrolment.md "Pairing"): `POST /agent/v1/pair` with
 * `{"code":"XXXXX-XXXXX"}` answers `200 {"agentId","agentName","token","merchantId","storeId"}`
 * once per code. Unauthenticated by design (the code is the credential), so:
 * - bounded: a 1 KiB JSON body, a strict schema (`code` ≤ 32 characters, optional `agentVersion`);
 * - rate-limited: every refusal (malformed, unknown, used, expired code) counts as a failure of
 *   the source in the shared `pairing` counters (../http/rate-limit.ts `FailureLimiter`, shared by
 *   every instance); a source over the limit gets 429 `PPP_TOO_MANY_ATTEMPTS` with `Retry-After`;
 * - constant-time: the code is never compared in the process; its sha256 is looked up in the
 *   store (an index probe on a digest), so the time does not depend on how much of a guess was
 *   right. With 50 bits per code, 15 minutes of validity and the per-source limit, guessing is
 *   out of reach.
 * Errors are `{code, message, retryable}` (the agent's wire shape). The token is in the answer
 * only; it is never logged.
 */
import express, { type Router } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { isCodedError } from '@posbridge/protocol/errors';
import type { FailureLimiter } from '../http/rate-limit.ts';
import { sourceKeyOf, sourceOf } from '../http/rate-limit.ts';
import { wireErrorHandler } from '../http/errors.ts';
import { parseBody } from '../http/validation.ts';
import type { AgentEnrolment } from './enrolment-service.ts';
import { MAX_TYPED_CODE_LENGTH } from './pairing-code.ts';

/** Path of the endpoint, beside the hub's WebSocket path. */
export const PAIRING_PATH = '/agent/v1/pair';

/** Largest body read, bytes. */
export const PAIRING_BODY_LIMIT_BYTES = 1024;

const PairRequestSchema = z.strictObject({
  code: z.string().min(1).max(MAX_TYPED_CODE_LENGTH),
  /** The agent's version, for the log. */
  agentVersion: z.string().max(64).optional(),
});

/** What {@link createPairingRouter} needs. */
export interface PairingRouterDeps {
  readonly enrolment: AgentEnrolment;
  /** Failure counts of the `pairing` surface. */
  readonly limiter: FailureLimiter;
  readonly logger: Logger;
}

/** The router of {@link PAIRING_PATH}, mounted at the app's root. */
export function createPairingRouter(deps: PairingRouterDeps): Router {
  const log = deps.logger.child({ component: 'enrolment' });
  const router = express.Router();
  const readBody = express.json({ limit: PAIRING_BODY_LIMIT_BYTES, type: () => true });
  router.post(PAIRING_PATH, async (req, res, next) => {
    const source = sourceKeyOf(req);
    try {
      if (await deps.limiter.refuseIfLimited(req, res, source, 'wire')) return;
      await new Promise<void>((resolve, reject) =>
        readBody(req, res, (err?: unknown) => (err === undefined ? resolve() : reject(err))),
      );
      const body = parseBody(PairRequestSchema, req.body, 'pairing');
      const pairing = await deps.enrolment.pair(body.code, sourceOf(req));
      log.info(
        { agentId: pairing.agentId, agentName: pairing.agentName, storeId: pairing.storeId, merchantId: pairing.merchantId, agentVersion: body.agentVersion },
        'agent paired',
      );
      res.status(200).setHeader('Cache-Control', 'no-store').json(pairing);
    } catch (err) {
      if (!(isCodedError(err) && (err.code === 'STORE_FAILED' || err.code === 'PPP_TOO_MANY_ATTEMPTS'))) {
        await deps.limiter.fail(source).catch((e: unknown) => log.warn({ err: e }, 'pairing failure not counted'));
        log.warn({ remoteAddress: sourceOf(req), code: isCodedError(err) ? err.code : 'PPP_INVALID_REQUEST' }, 'pairing refused');
      }
      next(err);
    }
  });
  router.use(PAIRING_PATH, wireErrorHandler(log));
  return router;
}
