/**
 * Domain → Payment App mapping (`@posbridge/protocol/pos`). Card data leaves as brand and last
 * 4 digits only.
 */
import type { PosPaymentState, PosStatus } from '@posbridge/protocol/pos';
import type { Payment } from '../ports/index.ts';

/** The app's view of a payment's state. Aborting/reversing show why they stop. */
export function posStateOf(p: Payment): PosPaymentState {
  switch (p.status) {
    case 'awaiting_terminal':
    case 'dispatched':
    case 'approved':
    case 'denied':
    case 'unknown':
    case 'cancelled':
    case 'expired':
      return p.status;
    case 'accepted':
      return 'in_progress';
    case 'aborting':
    case 'reversing':
      return p.endReason ?? 'cancelled';
    case 'reversal_unknown':
      return 'unknown';
    default: {
      const never: never = p.status;
      throw new Error(`unhandled status ${String(never)}`);
    }
  }
}

/**
 * `GET {statusUrl}` answer.
 * @param now - ms since epoch, for `secondsRemaining`.
 */
export function posStatusOf(p: Payment, now: number): PosStatus {
  const state = posStateOf(p);
  const final = p.status === 'approved' || p.status === 'denied';
  return {
    paymentId: p.paymentId,
    state,
    stage: p.status === 'dispatched' || p.status === 'accepted' ? p.progressStage : null,
    serialNumber: p.binding?.serialNumber ?? null,
    amount: { amountMinor: p.amount.amountMinor, currency: p.amount.currency },
    method: p.method,
    result: final
      ? {
          status: p.status === 'approved' ? 'approved' : 'denied',
          cardBrand: p.outcome?.card?.brand ?? null,
          lastDigits: p.outcome?.card?.lastDigits ?? null,
          message: p.outcome?.message ?? null,
        }
      : null,
    secondsRemaining:
      p.deadlineAt === null || final || state === 'cancelled' || state === 'expired'
        ? null
        : Math.max(0, Math.ceil((p.deadlineAt - now) / 1000)),
  };
}
