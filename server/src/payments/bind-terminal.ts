/**
 * Bind a terminal (the Payment App's submitUrl): the payment is bound to a terminal of its
 * merchant and its `payment.start` dispatched.
 *
 * @see docs/protocol/ws.md "Terminal ownership"
 */
import { CodedError } from '@posbridge/protocol/errors';
import { newStartId } from '../domain/ids.ts';
import type { PaymentEvent } from '../domain/payment-machine.ts';
import type { Payment } from '../ports/index.ts';
import { MAX_CAS_ATTEMPTS, type PaymentCore } from './payment-core.ts';

/** Answer of {@link PaymentService.bindTerminal}. */
export interface BindOutcome {
  readonly payment: Payment;
  /** True when this call bound the terminal (false: idempotent repeat). */
  readonly bound: boolean;
}

/**
 * Binds a terminal of the payment's merchant to an awaiting payment (submitUrl) and
 * dispatches `payment.start`. Idempotent: the same serial again answers the bound payment.
 * A terminal of another merchant is answered exactly like an unknown one.
 *
 * @throws CodedError `POS_SUBMIT_NOT_FOUND` (no such payment), `POS_PAYMENT_FINAL` (final,
 *   cancelled or expired: the submitUrl no longer works), `POS_ALREADY_BOUND`,
 *   `POS_TERMINAL_UNKNOWN`, `POS_TERMINAL_OFFLINE`, `STORE_FAILED`.
 */
export async function bindTerminal(core: PaymentCore, paymentId: string, serialNumber: string): Promise<BindOutcome> {
  const presence = core.presence();
  for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
    // The payment and where the terminal is (with its agent's merchant) are read side by side: on
    // PostgreSQL each read is a round trip, and neither depends on the other.
    const [p, { where, owner }] = await Promise.all([
      core.store.getPayment(paymentId),
      presence.locate(serialNumber).then(async (where) => ({
        where,
        owner: where.status === 'unknown' ? null : await core.store.agentOwner(where.agentId),
      })),
    ]);
    if (!p) throw new CodedError('POS_SUBMIT_NOT_FOUND');
    switch (p.status) {
      case 'approved':
      case 'denied':
      case 'cancelled':
      case 'expired':
      case 'aborting':
      case 'reversing':
      case 'reversal_unknown':
        throw new CodedError('POS_PAYMENT_FINAL', undefined, { details: { paymentId, status: p.status } });
      case 'dispatched':
      case 'accepted':
      case 'unknown':
        if (p.binding?.serialNumber === serialNumber) return { payment: p, bound: false };
        throw new CodedError('POS_ALREADY_BOUND', undefined, { details: { paymentId } });
      case 'awaiting_terminal':
        break;
      default: {
        const never: never = p.status;
        throw new Error(`unhandled status ${String(never)}`);
      }
    }
    if (where.status === 'unknown' || owner?.merchantId !== p.merchantId) {
      if (owner && owner.merchantId !== p.merchantId) {
        core.posLog.warn({ paymentId, serialNumber }, 'terminal of another merchant refused');
      }
      throw new CodedError('POS_TERMINAL_UNKNOWN', undefined, { details: { serialNumber } });
    }
    if (where.status === 'offline') throw new CodedError('POS_TERMINAL_OFFLINE', undefined, { details: { serialNumber } });
    // A sandbox payment never reaches a production terminal unless its merchant allows it, also
    // when the rule changed after Create Payment (docs/homologation.md "Sandbox mode").
    if (p.sandbox === true && (await core.store.getMerchant(p.merchantId))?.sandboxTerminals !== 'allow') {
      core.posLog.warn({ paymentId, serialNumber, sandbox: true }, 'sandbox payment refused on a production terminal');
      throw new CodedError('POS_SANDBOX_REFUSED', undefined, { details: { paymentId, serialNumber } });
    }
    const now = core.now();
    // The wait app starts counting `secondsWaiting` once the terminal is chosen; VTEX itself
    // cancels at `delayToCancel`, so the server must give up a minute before that.
    const deadlineAt = Math.min(
      now + (core.deadlines.secondsWaiting + core.deadlines.graceSeconds) * 1000,
      p.createdAt + (core.deadlines.delayToCancelSeconds - 60) * 1000,
    );
    const event: PaymentEvent = {
      type: 'terminal.bound',
      binding: { serialNumber, agentId: where.agentId, startId: newStartId() },
      deadlineAt,
    };
    // Logged between commit and dispatch so the timeline reads bound → dispatched.
    const result = await core.tryApply(p, event, () =>
      core.posLog.info({ paymentId, serialNumber, agentId: where.agentId }, 'terminal bound'),
    );
    if (result) return { payment: result, bound: true };
  }
  throw new CodedError('STORE_FAILED', 'payment changed concurrently too many times', { details: { paymentId } });
}
