/**
 * The payment event log, read side: the append-only timeline of a payment that a support person
 * reads. Rows are written by the port whose change causes them, in the same transaction
 * (./payments.ts `createPayment`/`applyTransition`, ./operations.ts `resolveUnknownOperation`).
 */
import type { PaymentStatus } from '../domain/payment-machine.ts';

/** One row of the append-only audit log. */
export interface PaymentEventRecord {
  /** Increasing over the whole log (the order of the writes). */
  readonly seq: number;
  readonly paymentId: string;
  readonly type: string;
  readonly fromStatus: PaymentStatus | null;
  readonly toStatus: PaymentStatus;
  /** What happened (domain/audit-data.ts), never card data beyond brand/first6/last4. */
  readonly data: unknown;
  /** ms since epoch. */
  readonly at: number;
}

/** Reads the payment event log. May reject with `CodedError('STORE_FAILED')`. */
export interface PaymentEventsPort {
  /** The audit log of a payment, oldest first. */
  listPaymentEvents(paymentId: string): Promise<PaymentEventRecord[]>;
}
