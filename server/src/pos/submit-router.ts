/**
 * The submitUrl route, `POST /pos/v1/submit/:token`, called by the terminal-connector Payment
 * App with `{"serialNumber":"…"}`. No PPP credentials: the HMAC token is the credential. CORS is
 * open (the app runs in a browser/webview), preflight answered.
 *
 * Answers: 200 `{paymentId, serialNumber, state}` on bind (also on an idempotent repeat);
 * errors `{code, message, retryable}`: 404 POS_SUBMIT_NOT_FOUND, 400 POS_INVALID_SERIAL,
 * 404 POS_TERMINAL_UNKNOWN, 503 POS_TERMINAL_OFFLINE, 409 POS_ALREADY_BOUND, 410 POS_PAYMENT_FINAL.
 *
 * @see ../../../../shared/spec/ppp-pos.md §2 steps 6–7, §5.4
 */
import express, { type RequestHandler, type Router } from 'express';
import type { Logger } from 'pino';
import { CodedError } from '@posbridge/protocol/errors';
import { SubmitTerminalRequestSchema } from '@posbridge/protocol/ppp';
import { wireErrorHandler } from '../errors/http-errors.ts';
import type { PaymentService } from '../payments/payment-service.ts';
import { describeIssues } from '../ppp/payments-router.ts';
import { verifySubmitToken } from './submit-token.ts';

/** Dependencies of {@link createSubmitRouter}. */
export interface SubmitRouterDeps {
  readonly service: PaymentService;
  readonly logger: Logger;
  /** HMAC key of submit tokens. */
  readonly submitSecret: string;
}

const cors: RequestHandler = (req, res, next) => {
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
  res.setHeader('Access-Control-Allow-Headers', req.headers['access-control-request-headers'] ?? 'Content-Type');
  res.setHeader('Access-Control-Max-Age', '600');
  res.setHeader('Vary', 'Access-Control-Request-Headers');
  next();
};

/** Router mounted at `/pos/v1`. */
export function createSubmitRouter(deps: SubmitRouterDeps): Router {
  const log = deps.logger.child({ component: 'pos' });
  const router = express.Router();
  router.use(cors);
  router.options('/submit/:token', (_req, res) => {
    res.status(204).end();
  });
  router.post(
    '/submit/:token',
    (req, res, next) => {
      // Check the token before reading the body: a forged URL learns nothing else.
      const token = req.params['token'];
      const paymentId = token === undefined ? null : verifySubmitToken(deps.submitSecret, token);
      if (paymentId === null) throw new CodedError('POS_SUBMIT_NOT_FOUND');
      res.locals['paymentId'] = paymentId;
      next();
    },
    express.json({ limit: 4096, type: () => true }),
    async (req, res) => {
      const paymentId = res.locals['paymentId'] as string;
      const parsed = SubmitTerminalRequestSchema.safeParse(req.body);
      if (!parsed.success) {
        throw new CodedError('POS_INVALID_SERIAL', `invalid submit body: ${describeIssues(parsed.error.issues)}`);
      }
      const serialNumber = parsed.data.serialNumber.trim();
      const { payment, bound } = await deps.service.bindTerminal(paymentId, serialNumber);
      // `terminal bound` is logged by the service between commit and dispatch.
      if (!bound) log.debug({ paymentId, serialNumber }, 'terminal bind repeated');
      res.status(200).json({ paymentId, serialNumber, state: payment.status });
    },
  );
  router.use(wireErrorHandler(log));
  return router;
}
