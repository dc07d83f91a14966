/**
 * The money rules of a payment's follow-up operations (docs/ppp.md "Idempotency and amounts", "Concurrent requests"),
 * as pure functions: what a payment's settlements and refunds add up to, and whether one more
 * settlement or refund fits. An adapter locks the payment (SQLite: `BEGIN IMMEDIATE`; PostgreSQL:
 * a row lock), reads the payment and its operations, asks {@link checkOperationLimit}, and writes
 * only when it allows it, so the rule lives here once and every adapter applies the same one.
 *
 * Rules:
 * - a settlement needs an `approved` payment and keeps Σ approved settlements ≤ the authorized
 *   amount (the terminal's `amountMinor`, else the requested amount);
 * - a refund needs an `approved` payment and keeps Σ refunds that are approved, `pending` or
 *   `unknown` ≤ Σ approved settlements (a refund whose outcome is not known yet reserves its
 *   amount: it may have been paid out);
 * - cancellations have no amount and are not limited here.
 *
 * Money is integer minor units of the payment's currency (one currency per payment).
 */
import type { EndReason, PaymentStatus } from './payment-machine.ts';

/** Sums of a payment's operations, minor units. */
export interface OperationTotals {
  readonly settledMinor: number;
  /** Approved refunds. */
  readonly refundedMinor: number;
  /** Refunds still pending or unknown (reserved against the settled amount). */
  readonly refundingMinor: number;
}

/** The fields of an operation the totals depend on. */
export interface CountedOperation {
  readonly kind: 'cancel' | 'settle' | 'refund';
  readonly status: 'pending' | 'approved' | 'denied' | 'unknown';
  /** Minor units (0 for cancellations). */
  readonly amountMinor: number;
}

/** Σ of `operations` (all of one payment) by the rules of the module comment. */
export function operationTotals(operations: Iterable<CountedOperation>): OperationTotals {
  let settledMinor = 0;
  let refundedMinor = 0;
  let refundingMinor = 0;
  for (const op of operations) {
    if (op.kind === 'settle' && op.status === 'approved') settledMinor += op.amountMinor;
    else if (op.kind === 'refund' && op.status === 'approved') refundedMinor += op.amountMinor;
    else if (op.kind === 'refund' && (op.status === 'pending' || op.status === 'unknown')) refundingMinor += op.amountMinor;
  }
  return { settledMinor, refundedMinor, refundingMinor };
}

/** The payment as a limit check sees it. */
export interface LimitedPayment {
  readonly status: PaymentStatus;
  /** What the terminal authorized, minor units (see {@link authorizedMinor}). */
  readonly authorizedMinor: number;
}

/** The amount a payment's settlements are bounded by: the terminal's, else the requested one. */
export function authorizedMinor(payment: {
  readonly amount: { readonly amountMinor: number };
  readonly outcome: { readonly amountMinor: number } | null;
}): number {
  return payment.outcome?.amountMinor ?? payment.amount.amountMinor;
}

/** Answer of {@link checkOperationLimit}. */
export type OperationLimitVerdict =
  | { readonly allowed: true }
  /** The payment is missing or not `approved`; `limitMinor` is 0. */
  | { readonly allowed: false; readonly reason: 'not_approved'; readonly limitMinor: 0 }
  /** Over the limit; `limitMinor` (≥ 0) is what would still fit. */
  | { readonly allowed: false; readonly reason: 'exceeds'; readonly limitMinor: number };

/**
 * Whether a new settlement or refund of `amountMinor` fits, given the payment (null when it does
 * not exist) and the totals of its operations recorded so far (read under the same lock).
 * Exactly at the limit is allowed; a zero amount fits whenever the payment is approved.
 */
export function checkOperationLimit(
  request: { readonly kind: 'settle' | 'refund'; readonly amountMinor: number },
  payment: LimitedPayment | null,
  totals: OperationTotals,
): OperationLimitVerdict {
  if (payment?.status !== 'approved') return { allowed: false, reason: 'not_approved', limitMinor: 0 };
  const limitMinor =
    request.kind === 'settle'
      ? payment.authorizedMinor - totals.settledMinor
      : totals.settledMinor - totals.refundedMinor - totals.refundingMinor;
  if (request.amountMinor > limitMinor) return { allowed: false, reason: 'exceeds', limitMinor: Math.max(0, limitMinor) };
  return { allowed: true };
}

/**
 * The store's `refused` answer (`RecordOperationResult` of server/src/ports/operations.ts) for a
 * verdict that refuses: `not_approved` carries the payment as the refusal saw it (null when it
 * does not exist) so the answer can say why; `exceeds` carries what would still fit.
 */
export function operationRefusal(
  verdict: Exclude<OperationLimitVerdict, { readonly allowed: true }>,
  payment: { readonly status: PaymentStatus; readonly endReason: EndReason | null } | null,
) {
  return verdict.reason === 'not_approved'
    ? ({
        kind: 'refused',
        reason: 'not_approved',
        limitMinor: 0,
        payment: payment ? { status: payment.status, endReason: payment.endReason } : null,
      } as const)
    : ({ kind: 'refused', reason: 'exceeds', limitMinor: verdict.limitMinor } as const);
}
