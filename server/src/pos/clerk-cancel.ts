/**
 * *Cancel on terminal* (`POST /pos/v1/cancel/:token`): the clerk stops a sale from the Payment
 * App. The payment's token authorises that one payment only (the app holds no merchant
 * credentials), so what it may do is narrow: stop a payment that has not charged anything yet —
 * waiting for a terminal (→ `cancelled` at once) or running on one (→ `aborting`, then
 * `cancelled` once the terminal stops; an approval that races the abort is reversed like any
 * late approval). It never reverses an approval (only VTEX's cancellation does), and never
 * touches a payment whose outcome is unknown (`POS_CANCEL_REFUSED`). A payment already over, or
 * already being stopped, answers its status (idempotent).
 *
 * VTEX is not called back for it (a `cancelled` payment has no callback, docs/ppp.md
 * "Cancellation"): the app tells the checkout (`transactionValidation.vtex [false]`, the wait
 * app's `cancelled` end) and the gateway's next Create Payment answers `denied`.
 *
 * @see docs/ppp.md "Cancel on terminal", server/src/domain/payment-machine.ts (`cancel.requested`)
 */
import { CodedError } from '@posbridge/protocol/errors';
import type { PaymentStatus } from '../domain/payment-state.ts';
import type { PaymentService } from '../payments/payment-service.ts';
import type { Payment } from '../ports/index.ts';

/** States the clerk may stop. */
const STOPPABLE: ReadonlySet<PaymentStatus> = new Set(['awaiting_terminal', 'dispatched', 'accepted']);
/** States with nothing left to stop: answered as they are. */
const OVER: ReadonlySet<PaymentStatus> = new Set(['denied', 'cancelled', 'expired', 'aborting']);

/**
 * Asks the machine to cancel `paymentId` on the clerk's behalf.
 * @returns the payment after the request (unchanged when it was already over), and whether this call changed it.
 * @throws CodedError `POS_SUBMIT_NOT_FOUND` (no such payment), `POS_CANCEL_REFUSED` (approved,
 *   reversing, or outcome unknown), `STORE_FAILED`.
 */
export async function cancelByClerk(service: PaymentService, paymentId: string): Promise<{ payment: Payment; cancelled: boolean }> {
  const refused = (p: Payment) => new CodedError('POS_CANCEL_REFUSED', undefined, { details: { paymentId, status: p.status } });
  let refusal: CodedError | null = null;
  const result = await service.applyEvent(paymentId, (p) => {
    refusal = null;
    if (STOPPABLE.has(p.status)) return { type: 'cancel.requested', canReverse: false };
    if (!OVER.has(p.status)) refusal = refused(p);
    return null;
  });
  if (result.payment === null) throw new CodedError('POS_SUBMIT_NOT_FOUND');
  if (refusal !== null) throw refusal;
  return { payment: result.payment, cancelled: result.applied };
}
