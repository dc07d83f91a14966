/**
 * PPP routes called by the VTEX gateway (all authenticated): `POST /payments` (Create Payment).
 * Cancellations, settlements and refunds come in later issues.
 *
 * Create Payment never waits for the terminal (20 s rule): it answers from the stored state.
 *
 * @see ../../../../shared/spec/ppp-pos.md §4.2, §5
 */
import express, { type Router } from 'express';
import type { Logger } from 'pino';
import { CodedError } from '@posbridge/protocol/errors';
import { formatMoney } from '@posbridge/protocol/money';
import { CreatePaymentRequestSchema, type CreatePaymentResponse } from '@posbridge/protocol/ppp';
import type { AppCredentials } from '../config.ts';
import type { PaymentService } from '../payments/payment-service.ts';
import { pppAuth } from './auth.ts';
import { paymentAnswer, unsupportedMethodAnswer, type PppAnswerSettings } from './mappers.ts';

/** Dependencies of {@link createPaymentsRouter}. */
export interface PaymentsRouterDeps {
  readonly service: PaymentService;
  readonly logger: Logger;
  readonly settings: PppAnswerSettings;
  /** Merchant credentials VTEX must send. */
  readonly credentials: AppCredentials;
  /** submitUrl of a payment. */
  readonly submitUrlFor: (paymentId: string) => string;
  /** Largest accepted body. */
  readonly bodyLimitBytes: number;
}

/** Turns zod issues into one message naming every offending field. */
export function describeIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`).join('; ');
}

/** Router mounted at `/payments`. */
export function createPaymentsRouter(deps: PaymentsRouterDeps): Router {
  const log = deps.logger.child({ component: 'ppp' });
  const router = express.Router();
  router.use(pppAuth(deps.credentials, log));
  router.use(express.json({ limit: deps.bodyLimitBytes, type: () => true }));

  router.post('/', async (req, res) => {
    const parsed = CreatePaymentRequestSchema.safeParse(req.body);
    if (!parsed.success) {
      throw new CodedError('PPP_INVALID_REQUEST', `invalid Create Payment request: ${describeIssues(parsed.error.issues)}`);
    }
    const body = parsed.data;
    const outcome = await deps.service.createPayment(body);
    let answer: CreatePaymentResponse;
    if (outcome.kind === 'unsupported_method') {
      log.info({ paymentId: body.paymentId, method: body.paymentMethod }, 'payment method not supported; denied');
      answer = unsupportedMethodAnswer(body.paymentId, body.paymentMethod, deps.settings);
    } else {
      const { payment, created } = outcome;
      if (created) {
        log.info(
          { paymentId: payment.paymentId, amount: formatMoney(payment.amount), method: body.paymentMethod },
          'payment created',
        );
      }
      answer = paymentAnswer(payment, deps.submitUrlFor(payment.paymentId), deps.settings);
    }
    log.debug(
      { paymentId: answer.paymentId, status: answer.status, appName: answer.paymentAppData?.appName },
      'payment answered',
    );
    res.status(200).json(answer);
  });

  return router;
}
