/**
 * The Payment App routes (not PPP), all authenticated by the per-payment HMAC token of the
 * payment's `submitUrl` (the app cannot hold merchant credentials), CORS open, errors
 * `{code, message, retryable}`:
 *
 * - `POST /pos/v1/submit/:token` `{"serialNumber":"…"}` → `SubmitAnswer` (binds the terminal);
 * - `GET  /pos/v1/status/:token` → `PosStatus` (progress and final result);
 * - `GET  /pos/v1/terminals/:token` → `PosTerminals` (the merchant's terminals with their store, online first);
 * - `POST /pos/v1/cancel/:token` → `PosStatus` (*Cancel on terminal*: ./clerk-cancel.ts; 409
 *   POS_CANCEL_REFUSED for an approved payment or an unknown outcome).
 *
 * Submit errors: 404 POS_SUBMIT_NOT_FOUND, 400 POS_INVALID_SERIAL, 404 POS_TERMINAL_UNKNOWN
 * (also for a terminal of another merchant), 503 POS_TERMINAL_OFFLINE, 409 POS_ALREADY_BOUND,
 * 410 POS_PAYMENT_FINAL (final, cancelled or expired: the submitUrl stops working).
 *
 * @see docs/protocol/vtex-ppp.md §2 steps 6–7, §5.4; protocol/src/pos/status.ts
 */
import express, { type RequestHandler, type Router } from 'express';
import type { Logger } from 'pino';
import { describeIssues } from '@posbridge/kit/zod-issues';
import { CodedError } from '@posbridge/protocol/errors';
import type { PosStatus, PosTerminals, SubmitAnswer } from '@posbridge/protocol/pos';
import { SubmitTerminalRequestSchema } from '@posbridge/protocol/ppp';
import { wireErrorHandler } from '../http/errors.ts';
import { BUSY_STATUSES, type PaymentService } from '../payments/payment-service.ts';
import { sourceKeyOf, type FailureLimiter } from '../http/rate-limit.ts';
import type { PaymentStore } from '../ports/index.ts';
import { cancelByClerk } from './clerk-cancel.ts';
import { posStateOf, posStatusOf } from './pos-mappers.ts';
import { verifySubmitToken } from './submit-token.ts';

/** Dependencies of {@link createPosRouter}. */
export interface PosRouterDeps {
  readonly service: PaymentService;
  /** Serials whose agent is connected now (the terminal list's `online`). */
  readonly agents: { onlineSerials(): ReadonlySet<string> };
  readonly store: PaymentStore;
  readonly logger: Logger;
  /** HMAC key of submit tokens. */
  readonly submitSecret: string;
  /** Counts forged or malformed tokens per source and refuses a source over its limit (429); a valid token is never limited. */
  readonly limiter?: FailureLimiter;
}

const cors: RequestHandler = (req, res, next) => {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
  res.setHeader('Access-Control-Allow-Headers', req.headers['access-control-request-headers'] ?? 'Content-Type');
  res.setHeader('Access-Control-Max-Age', '600');
  res.setHeader('Vary', 'Access-Control-Request-Headers');
  next();
};

/** Router mounted at `/pos/v1`. */
export function createPosRouter(deps: PosRouterDeps): Router {
  const log = deps.logger.child({ component: 'pos' });
  const router = express.Router();
  router.use(cors);
  router.options('/:route/:token', (_req, res) => {
    res.status(204).end();
  });
  // Check the token before reading any body: a forged URL learns nothing else. A valid token
  // (an HMAC nobody can guess) always passes; forged ones count against their source only.
  const token: RequestHandler = async (req, res, next) => {
    const value: unknown = req.params['token'];
    const paymentId = typeof value === 'string' ? verifySubmitToken(deps.submitSecret, value) : null;
    if (paymentId === null) {
      const source = sourceKeyOf(req);
      if (deps.limiter && (await deps.limiter.refuseIfLimited(req, res, source, 'wire'))) return;
      await deps.limiter?.fail(source);
      throw new CodedError('POS_SUBMIT_NOT_FOUND');
    }
    res.locals['paymentId'] = paymentId;
    next();
  };

  router.post('/submit/:token', token, express.json({ limit: 4096, type: () => true }), async (req, res) => {
    const paymentId = res.locals['paymentId'] as string;
    const parsed = SubmitTerminalRequestSchema.safeParse(req.body);
    if (!parsed.success) {
      throw new CodedError('POS_INVALID_SERIAL', `invalid submit body: ${describeIssues(parsed.error.issues, { root: '(body)' })}`);
    }
    const serialNumber = parsed.data.serialNumber.trim();
    const { payment, bound } = await deps.service.bindTerminal(paymentId, serialNumber);
    // `terminal bound` is logged by the service between commit and dispatch.
    if (!bound) log.debug({ paymentId, serialNumber }, 'terminal bind repeated');
    const answer: SubmitAnswer = { paymentId, serialNumber, state: posStateOf(payment) };
    res.status(200).json(answer);
  });

  router.get('/status/:token', token, async (_req, res) => {
    const paymentId = res.locals['paymentId'] as string;
    const p = await deps.service.getPayment(paymentId);
    if (!p) throw new CodedError('POS_SUBMIT_NOT_FOUND');
    const answer: PosStatus = posStatusOf(p, deps.service.now());
    res.status(200).setHeader('Cache-Control', 'no-store').json(answer);
  });

  router.post('/cancel/:token', token, async (_req, res) => {
    const paymentId = res.locals['paymentId'] as string;
    const { payment, cancelled } = await cancelByClerk(deps.service, paymentId);
    log.info({ paymentId, status: payment.status, changed: cancelled }, cancelled ? 'payment cancelled by the clerk' : 'clerk cancellation repeated');
    const answer: PosStatus = posStatusOf(payment, deps.service.now());
    res.status(200).setHeader('Cache-Control', 'no-store').json(answer);
  });

  router.get('/terminals/:token', token, async (_req, res) => {
    const paymentId = res.locals['paymentId'] as string;
    const p = await deps.service.getPayment(paymentId);
    if (!p) throw new CodedError('POS_SUBMIT_NOT_FOUND');
    const listed = await deps.store.listTerminals(p.merchantId);
    const online = deps.agents.onlineSerials();
    const serials = listed.map((t) => t.serialNumber);
    const busy = new Set((await deps.store.listPaymentsIn(BUSY_STATUSES, serials)).flatMap((q) => (q.binding ? [q.binding.serialNumber] : [])));
    const answer: PosTerminals = {
      terminals: listed
        .map((t) => ({
          serialNumber: t.serialNumber,
          online: online.has(t.serialNumber),
          busy: busy.has(t.serialNumber),
          store: { storeId: t.storeId, name: t.storeName },
        }))
        .sort((a, b) => Number(b.online) - Number(a.online) || a.serialNumber.localeCompare(b.serialNumber)),
    };
    res.status(200).setHeader('Cache-Control', 'no-store').json(answer);
  });

  router.use(wireErrorHandler(log));
  return router;
}
