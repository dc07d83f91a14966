/**
 * The payments port: the payment rows and their compare-and-set state changes.
 *
 * Invariants every adapter keeps:
 * - `createPayment` is idempotent by `paymentId` even under concurrent calls (one row, ever).
 * - `applyTransition` is a compare-and-set on (`paymentId`, `version`, `status`): it writes the new
 *   state, appends the audit event (./events.ts) and (optionally) enqueues the callback
 *   (./callback-outbox.ts) in ONE transaction, or does nothing and returns `null`.
 * - `claimDuePayments` leases a payment's deadline to one instance at a time (./leases.ts); the
 *   expiry itself stays a compare-and-set transition, so two instances never both expire one.
 *
 * Times are ms since epoch. Money is integer minor units + ISO 4217 alpha code.
 * See docs/architecture.md for where each port is used.
 */
import type { Money } from '@posbridge/protocol/money';
import type { PaymentMethodKind, ProgressStage } from '@posbridge/protocol/ws';
import type { PaymentEvent, PaymentMachineState, PaymentStatus } from '../domain/payment-machine.ts';
import type { CommandWrites } from './agent-commands.ts';
import type { NewCallback } from './callback-outbox.ts';
import type { NewAuditEntry } from './admin.ts';

/** What is needed to create a payment (from a validated Create Payment request). */
export interface NewPayment {
  /** VTEX's payment id (idempotency key). */
  readonly paymentId: string;
  /** posbridge's own id of this payment (reported as `tid`). */
  readonly id: string;
  readonly transactionId: string;
  readonly orderId: string;
  readonly reference: string;
  readonly merchantName: string;
  readonly method: PaymentMethodKind;
  readonly installments: number;
  readonly amount: Money;
  /** Where to POST the final result, exactly as received. */
  readonly callbackUrl: string;
  readonly createdAt: number;
  /** Merchant that owns the payment (authenticated by its credentials). @default BOOTSTRAP_MERCHANT_ID */
  readonly merchantId?: string;
  /** ms since epoch when the server gives up waiting for a terminal; null/absent: never. */
  readonly deadlineAt?: number | null;
  /** Created by the VTEX Test Suite (`X-VTEX-API-Is-TestSuite: true`). @default false */
  readonly testSuite?: boolean;
  /**
   * Sent from a VTEX sandbox environment (`sandBoxMode`/`sandboxMode: true`, docs/homologation.md
   * "Sandbox mode"). Absent on a stored payment = not sandbox.
   */
  readonly sandbox?: boolean;
  /**
   * The payment's W3C trace id (32 lower-case hex digits, not all zero; docs/tracing.md): adopted
   * from a valid incoming `traceparent`, else random. Absent on payments stored before migration
   * SQLite 14 / PostgreSQL 10 (they carry no trace context).
   */
  readonly traceId?: string;
}

/** A stored payment. */
export interface Payment extends Omit<NewPayment, 'merchantId' | 'deadlineAt' | 'testSuite'>, PaymentMachineState {
  readonly merchantId: string;
  readonly testSuite: boolean;
  /** Incremented on every state write; used for compare-and-set. */
  readonly version: number;
  /** Latest progress stage the agent reported, if any. */
  readonly progressStage: ProgressStage | null;
  readonly updatedAt: number;
}

/** Answer of {@link PaymentsPort.createPayment}. */
export interface CreatePaymentResult {
  /** The stored payment (the existing one when `created` is false). */
  readonly payment: Payment;
  /** True when this call inserted the row. */
  readonly created: boolean;
}

/** A compare-and-set state change. */
export interface PaymentChange {
  readonly paymentId: string;
  /** `version` of the payment the transition was computed from. */
  readonly expectedVersion: number;
  /** `status` the transition was computed from (belt and braces with the version). */
  readonly expectedStatus: PaymentStatus;
  readonly next: PaymentMachineState;
  /** Recorded in the audit log. */
  readonly event: PaymentEvent;
  readonly at: number;
  /** Enqueued in the same transaction when present. */
  readonly callback?: NewCallback;
  /** Agent commands opened and closed in the same transaction (./agent-commands.ts). */
  readonly commands?: CommandWrites;
  /** The admin audit row of the operator's action this change is (./admin.ts), appended in the same transaction. */
  readonly audit?: NewAuditEntry;
}

/** Payment rows and their state. All methods may reject with `CodedError('STORE_FAILED')`. */
export interface PaymentsPort {
  /**
   * Inserts the payment unless one with the same `paymentId` exists (store invariant, safe under
   * concurrency), records a `created` audit event for a new row, and returns the stored row.
   */
  createPayment(input: NewPayment): Promise<CreatePaymentResult>;
  /** The payment, or null. */
  getPayment(paymentId: string): Promise<Payment | null>;
  /**
   * Compare-and-set state write + audit event + optional callback enqueue, atomically.
   * @returns the updated payment, or null when the payment moved on meanwhile (caller re-reads and retries).
   */
  applyTransition(change: PaymentChange): Promise<Payment | null>;
  /** Records the latest progress stage (no state change). Returns false when the payment does not exist. */
  setProgressStage(paymentId: string, stage: ProgressStage, at: number): Promise<boolean>;
  /** Payments in `status` bound to one of `serialNumbers`, oldest first. */
  listBoundPayments(status: PaymentStatus, serialNumbers: readonly string[]): Promise<Payment[]>;
  /**
   * Claims the deadlines due at `now` for `owner` until `now + leaseMs` (./leases.ts): payments
   * whose `deadlineAt` is ≤ `now`, that still wait for a terminal (`awaiting_terminal`,
   * `dispatched`, `accepted`, `unknown`) and whose deadline lease is absent or ran out
   * (`≤ now`, whoever held it — the caller's own earlier claims included, so one pass of
   * claims ends), by `deadlineAt` then `paymentId`, at most `limit`. Concurrent claims never
   * return the same payment while its lease holds. The lease is not part of {@link Payment}.
   * @param leaseMs - ≥ 1; longer than one pass over a claimed batch.
   * @param owner - the claiming instance (./leases.ts `checkLeaseOwner`).
   */
  claimDuePayments(now: number, limit: number, leaseMs: number, owner: string): Promise<Payment[]>;
  /** Payments in any of `statuses` bound to one of `serialNumbers` (re-sends after a reconnect). */
  listPaymentsIn(statuses: readonly PaymentStatus[], serialNumbers: readonly string[]): Promise<Payment[]>;
  /** Number of payments per status (metrics). */
  countPaymentsByStatus(): Promise<Partial<Record<PaymentStatus, number>>>;
}
