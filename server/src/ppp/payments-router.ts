/**
 * PPP routes called by the VTEX gateway, all authenticated by the merchant's appKey/appToken:
 *
 * - `POST /payments` — Create Payment (idempotent by `paymentId`; never waits for the terminal);
 * - `POST /payments/:paymentId/cancellations` — idempotent by `requestId`;
 * - `POST /payments/:paymentId/settlements` — idempotent by `requestId`, partial allowed;
 * - `POST /payments/:paymentId/refunds` — idempotent by `requestId`, partial allowed;
 * - `POST /payments/:paymentId/inbound/:action` — inbound request (beta); action `status`.
 *
 * Every body is validated against its PPP schema; a 400 names every offending field. A
 * payment of another merchant is never visible. Behaviour per state: docs/ppp.md.
 *
 * @see docs/protocol/vtex-ppp.md §4, §5, §7
 */
import express, { type Router } from 'express';
import type { Logger } from 'pino';
import { CodedError } from '@posbridge/protocol/errors';
import { formatMoney } from '@posbridge/protocol/money';
import {
  CancelPaymentRequestSchema,
  CreatePaymentRequestSchema,
  InboundRequestSchema,
  paymentAppNamesOf,
  isSandboxRequest,
  RefundPaymentRequestSchema,
  SettlePaymentRequestSchema,
  type CreatePaymentResponse,
  type InboundResponse,
} from '@posbridge/protocol/ppp';
import type { CallbackUrlGuard } from '../callbacks/callback-url-policy.ts';
import { parseBody } from '../http/validation.ts';
import type { PppAnswerSettings } from '../domain/ppp-outcome.ts';
import type { OperationService } from '../payments/operation-service.ts';
import type { PaymentService } from '../payments/payment-service.ts';
import type { Payment } from '../ports/index.ts';
import { suiteScenarioOf } from '../testsuite/scenario.ts';
import type { VirtualTerminal } from '../testsuite/virtual-terminal.ts';
import { pppContext } from './auth.ts';
import { RecentIds } from './recent-ids.ts';
import { paymentAnswer, sandboxRefusedAnswer, unsupportedMethodAnswer, type PaymentAppUrls } from './mappers.ts';

/** Dependencies of {@link createPaymentsRouter}. */
export interface PaymentsRouterDeps {
  readonly service: PaymentService;
  readonly operations: OperationService;
  readonly logger: Logger;
  readonly settings: PppAnswerSettings;
  /** The callback host policy, applied to the `callbackUrl` of Create Payment. */
  readonly callbackUrls: CallbackUrlGuard;
  /** Payment App URLs of a payment. */
  readonly appUrlsFor: (paymentId: string) => PaymentAppUrls;
  /**
   * The virtual terminal (../testsuite/virtual-terminal.ts): a Test Suite request
   * (`X-VTEX-API-Is-TestSuite: true`) of a merchant whose Test Suite mode is on runs there.
   * Absent: every payment is an ordinary POS payment.
   */
  readonly virtualTerminal?: VirtualTerminal;
}

/** The path's paymentId must match the body's (VTEX sends both). */
function checkSamePayment(pathId: string | undefined, bodyId: string): string {
  if (pathId !== bodyId) {
    throw new CodedError('PPP_INVALID_REQUEST', `invalid request: paymentId: ${JSON.stringify(bodyId)} does not match the URL`);
  }
  return bodyId;
}

/** Router mounted at `/payments`, after authentication. */
export function createPaymentsRouter(deps: PaymentsRouterDeps): Router {
  const log = deps.logger.child({ component: 'ppp' });
  const router = express.Router();
  const recent = new RecentIds();

  // Every log line about a request names its payment, a refused one too (docs/ppp.md "Observability").
  router.use('/:paymentId', (req, res, next) => {
    res.locals['paymentId'] = req.params['paymentId'];
    next();
  });

  /**
   * Refuses the `callbackUrl` of a new payment outside the host policy with a 400 naming the
   * field. A repeat of an existing paymentId is never refused by it (the route reads the payment
   * before refusing): its answer and its callback use the URL stored at creation, and every
   * delivery checks that one again anyway.
   */
  async function screenCallbackUrl(callbackUrl: string, paymentId: string, merchantId: string): Promise<void> {
    const refuse = (reason: string): never => {
      log.info({ paymentId, merchantId, reason }, 'callbackUrl refused by the host policy');
      throw new CodedError('PPP_INVALID_REQUEST', `invalid Create Payment request: callbackUrl: ${reason}`);
    };
    const verdict = deps.callbackUrls.check(callbackUrl);
    if (!verdict.ok) return refuse(verdict.reason);
    if (verdict.allowlisted) return;
    const screening = await deps.callbackUrls.screen(callbackUrl);
    if (!screening.ok) return refuse(screening.reason);
    if (screening.unresolved !== undefined) {
      log.warn({ paymentId, merchantId, host: verdict.url.host, dnsError: screening.unresolved }, 'callbackUrl host did not resolve; checked again at delivery');
    }
  }

  router.post('/', async (req, res) => {
    const claimed = (req.body as { paymentId?: unknown } | undefined)?.paymentId;
    if (typeof claimed === 'string' && claimed.length <= 128) res.locals['paymentId'] = claimed;
    const body = parseBody(CreatePaymentRequestSchema, req.body, 'Create Payment');
    const { merchant, testSuite } = pppContext(res);
    res.locals['paymentId'] = body.paymentId;
    if (merchant.name !== null && body.merchantName !== merchant.name) {
      throw new CodedError('PPP_MERCHANT_MISMATCH', undefined, { details: { paymentId: body.paymentId } });
    }
    // Only both together reach the virtual terminal: the merchant's mode alone, or the header alone, never does.
    const virtual = testSuite && merchant.testSuiteMode === true ? deps.virtualTerminal : undefined;
    // A sandbox payment never reaches a production terminal unless the merchant allows it; the
    // virtual terminal is not one (docs/homologation.md "Sandbox mode").
    const sandbox = isSandboxRequest(body);
    const sandboxAllowed = virtual !== undefined || merchant.sandboxTerminals === 'allow';
    // A likely repeat (an id this process answered lately: the gateway's poll) is answered from one
    // read without a write. Any other id goes to the idempotent insert without that read (one store
    // trip for a new payment); the insert answers a repeat it was not told of. Where refusing a new
    // payment needs to know it is new (the callback policy, the sandbox rule), it is read first.
    let existing: Payment | null | undefined;
    if (recent.has(body.paymentId) || (sandbox && !sandboxAllowed)) existing = await deps.service.getPayment(body.paymentId);
    if (existing == null) {
      try {
        await screenCallbackUrl(body.callbackUrl, body.paymentId, merchant.merchantId);
      } catch (err) {
        if (existing === null) throw err;
        // Not read yet: a repeat is answered from what was stored (its URL passed at creation).
        existing = await deps.service.getPayment(body.paymentId);
        if (existing === null) throw err;
      }
    }
    const outcome = await deps.service.createPayment(body, { merchantId: merchant.merchantId, testSuite, existing: existing ?? null, sandbox, sandboxAllowed, traceparent: req.headers['traceparent'] });
    let answer: CreatePaymentResponse;
    if (outcome.kind === 'unsupported_method') {
      log.info({ paymentId: body.paymentId, method: body.paymentMethod }, 'payment method not supported; denied');
      answer = unsupportedMethodAnswer(body.paymentId, body.paymentMethod, deps.settings);
    } else if (outcome.kind === 'sandbox_refused') {
      log.warn({ paymentId: body.paymentId, merchantId: merchant.merchantId, sandbox: true }, 'sandbox payment refused: the merchant does not allow sandbox payments on its terminals; denied');
      answer = sandboxRefusedAnswer(body.paymentId, deps.settings);
    } else {
      const { created } = outcome;
      let { payment } = outcome;
      if (created) {
        log.info(
          {
            paymentId: payment.paymentId,
            ...(payment.traceId !== undefined ? { traceId: payment.traceId } : {}),
            merchantId: merchant.merchantId,
            amount: formatMoney(payment.amount),
            method: body.paymentMethod,
            ...(testSuite ? { testSuite } : {}),
            ...(payment.sandbox === true ? { sandbox: true } : {}),
            ...(virtual ? { virtualTerminal: true } : {}),
          },
          'payment created',
        );
      }
      // A suite payment still awaiting a terminal (just created, or created by a request cut off
      // before its binding) goes to the virtual terminal; the card number only picks the scenario.
      if (virtual && payment.testSuite && payment.status === 'awaiting_terminal' && payment.binding === null) {
        payment = await virtual.run(payment, suiteScenarioOf(body.card?.number, payment.amount.amountMinor));
      }
      recent.add(payment.paymentId);
      answer = paymentAnswer(payment, deps.appUrlsFor(payment.paymentId), deps.settings, paymentAppNamesOf(merchant.paymentApp));
    }
    if (log.isLevelEnabled('debug')) log.debug({ paymentId: answer.paymentId, status: answer.status, appName: answer.paymentAppData?.appName }, 'payment answered');
    res.status(200).json(answer);
  });

  router.post('/:paymentId/cancellations', async (req, res) => {
    const body = parseBody(CancelPaymentRequestSchema, req.body, 'Cancel Payment');
    const paymentId = checkSamePayment(req.params['paymentId'], body.paymentId);
    res.locals['paymentId'] = paymentId;
    const reply = await deps.operations.cancel(pppContext(res).merchant.merchantId, paymentId, body);
    res.status(reply.httpStatus).json(reply.body);
  });

  router.post('/:paymentId/settlements', async (req, res) => {
    const body = parseBody(SettlePaymentRequestSchema, req.body, 'Settle Payment');
    const paymentId = checkSamePayment(req.params['paymentId'], body.paymentId);
    res.locals['paymentId'] = paymentId;
    const reply = await deps.operations.settle(pppContext(res).merchant.merchantId, paymentId, body);
    res.status(reply.httpStatus).json(reply.body);
  });

  router.post('/:paymentId/refunds', async (req, res) => {
    const body = parseBody(RefundPaymentRequestSchema, req.body, 'Refund Payment');
    const paymentId = checkSamePayment(req.params['paymentId'], body.paymentId);
    res.locals['paymentId'] = paymentId;
    const reply = await deps.operations.refund(pppContext(res).merchant.merchantId, paymentId, body);
    res.status(reply.httpStatus).json(reply.body);
  });

  router.post('/:paymentId/inbound/:action', async (req, res) => {
    const body = parseBody(InboundRequestSchema, req.body, 'Inbound');
    const paymentId = checkSamePayment(req.params['paymentId'], body.paymentId);
    res.locals['paymentId'] = paymentId;
    const action = req.params['action'] ?? '';
    const p = await deps.service.getPayment(paymentId);
    const own = p !== null && p.merchantId === pppContext(res).merchant.merchantId;
    const relay = (statusCode: number, content: unknown): InboundResponse => ({
      requestId: body.requestId,
      paymentId,
      responseData: { statusCode, contentType: 'application/json', content: JSON.stringify(content) },
    });
    if (action !== 'status') {
      res.status(200).json(relay(404, { code: 'PPP_NOT_FOUND', message: `no inbound action ${JSON.stringify(action)}; posbridge supports "status"` }));
      return;
    }
    if (!own || !p) {
      res.status(200).json(relay(404, { code: 'PPP_PAYMENT_NOT_FOUND', message: 'no payment with this paymentId for this merchant' }));
      return;
    }
    const answer = paymentAnswer(p, deps.appUrlsFor(paymentId), deps.settings);
    res.status(200).json(
      relay(200, {
        paymentId,
        status: answer.status,
        posState: p.status,
        serialNumber: p.binding?.serialNumber ?? null,
        stage: p.progressStage,
        authorizationId: answer.authorizationId,
        code: answer.code,
        message: answer.message,
      }),
    );
  });

  return router;
}
