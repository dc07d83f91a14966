/**
 * Create Payment: the payment is created once per `paymentId` (per merchant) with its server-side
 * deadline; a repeat answers the stored payment.
 *
 * @see docs/ppp.md "Idempotency and amounts"
 */
import { CodedError } from '@posbridge/protocol/errors';
import { assertChargeable, formatMoney, moneyFromDecimal } from '@posbridge/protocol/money';
import type { CreatePaymentRequest } from '@posbridge/protocol/ppp';
import { newTraceId, parseTraceparent } from '@posbridge/protocol/ws';
import { newPaymentId } from '../domain/ids.ts';
import { methodKindOf } from '../domain/ppp-outcome.ts';
import type { Payment } from '../ports/index.ts';
import type { PaymentCore } from './payment-core.ts';

/** Who calls Create Payment. */
export interface CreateContext {
  /** Authenticated merchant. */
  readonly merchantId: string;
  /** `X-VTEX-API-Is-TestSuite: true` was sent. */
  readonly testSuite: boolean;
  /** The request says it comes from a VTEX sandbox (`sandBoxMode`/`sandboxMode: true`). @default false */
  readonly sandbox?: boolean;
  /**
   * A sandbox payment may be created: it runs on the virtual terminal (never a production one),
   * or the merchant allows sandbox payments on its real terminals. Ignored when not `sandbox`.
   * @default false
   */
  readonly sandboxAllowed?: boolean;
  /**
   * The stored payment of this `paymentId` when the caller just read it (a repeat: the gateway's
   * poll), so it is answered without a write; `null` or absent when none was found (the
   * idempotent insert still decides, so a concurrent create of the same id is one payment).
   */
  readonly existing?: Payment | null;
  /**
   * The request's `traceparent` header as received: a valid W3C one gives the new payment its
   * trace id, anything else (absent, invalid, repeated) a fresh random one (docs/tracing.md).
   */
  readonly traceparent?: string | string[] | undefined;
}

/** Answer of {@link PaymentService.createPayment}. */
export type CreatePaymentOutcome =
  | { readonly kind: 'unsupported_method' }
  | { readonly kind: 'sandbox_refused' }
  | { readonly kind: 'payment'; readonly payment: Payment; readonly created: boolean };

/**
 * Create Payment: creates the payment once per `paymentId` and returns the stored one.
 * A method other than Venda Direta is not stored (`unsupported_method`, answered `denied`), nor
 * is a new sandbox payment that would reach a production terminal of a merchant that does not
 * allow it (`sandbox_refused`, answered `denied`; docs/homologation.md "Sandbox mode").
 *
 * @throws CodedError `MONEY_UNKNOWN_CURRENCY` / `MONEY_INVALID_AMOUNT` (400);
 *   `MONEY_AMOUNT_OUT_OF_RANGE` (400) for a `value` below one minor unit or above
 *   `MAX_CHARGE_MINOR` (docs/ppp.md "Amounts");
 *   `PPP_PAYMENT_MISMATCH` when the paymentId exists with another amount, currency, method or
 *   merchant; `STORE_FAILED`.
 * @see docs/protocol/vtex-ppp.md §4.2 "Idempotency"
 */
export async function createPayment(core: PaymentCore, req: CreatePaymentRequest, ctx: CreateContext): Promise<CreatePaymentOutcome> {
  const method = methodKindOf(req.paymentMethod);
  if (!method) return { kind: 'unsupported_method' };
  // Refused before anything is stored: 0 or more than a terminal's amount field would only fail later on the terminal.
  const amount = assertChargeable(moneyFromDecimal(req.value, req.currency), 'value');
  // The rule is checked only for a new payment: a repeat answers what was created.
  if (ctx.existing == null && ctx.sandbox === true && ctx.sandboxAllowed !== true) return { kind: 'sandbox_refused' };
  const now = core.now();
  const { payment, created } = ctx.existing ? { payment: ctx.existing, created: false } : await core.store.createPayment({
    paymentId: req.paymentId,
    id: newPaymentId(),
    transactionId: req.transactionId,
    orderId: req.orderId,
    reference: req.reference,
    merchantName: req.merchantName,
    merchantId: ctx.merchantId,
    method,
    installments: req.installments,
    amount,
    callbackUrl: req.callbackUrl,
    createdAt: now,
    deadlineAt: now + (core.deadlines.secondsWaiting + core.deadlines.graceSeconds) * 1000,
    testSuite: ctx.testSuite,
    ...(ctx.sandbox === true ? { sandbox: true } : {}),
    traceId: parseTraceparent(ctx.traceparent)?.traceId ?? newTraceId(),
  });
  if (created) {
    core.onStatusChanged(null, payment.status);
  } else if (
    payment.merchantId !== ctx.merchantId ||
    payment.amount.amountMinor !== amount.amountMinor ||
    payment.amount.currency !== amount.currency ||
    payment.method !== method
  ) {
    throw new CodedError('PPP_PAYMENT_MISMATCH', undefined, {
      details: { paymentId: req.paymentId, stored: formatMoney(payment.amount), given: formatMoney(amount) },
    });
  }
  return { kind: 'payment', payment, created };
}
