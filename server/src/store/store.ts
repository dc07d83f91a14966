/**
 * The persistence contract of the server. Domain types in, domain types out: no SQL, no rows,
 * no driver types cross this interface, so a Postgres implementation is a new class.
 *
 * Invariants every implementation must keep:
 * - `createPayment` is idempotent by `paymentId` even under concurrent calls (one row, ever).
 * - `applyTransition` is a compare-and-set on (`paymentId`, `version`, `status`): it writes the new
 *   state, appends the audit event and (optionally) enqueues the callback in ONE transaction, or
 *   does nothing and returns `null`.
 * - A payment has at most one callback outbox entry per kind.
 *
 * Times are ms since epoch. Money is integer minor units + ISO 4217 alpha code.
 */
import type { Money } from '@posbridge/protocol/money';
import type { PaymentMethodKind, ProgressStage } from '@posbridge/protocol/ws';
import type { PaymentEvent, PaymentMachineState, PaymentStatus } from '../payments/payment-machine.ts';

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
}

/** A stored payment. */
export interface Payment extends NewPayment, PaymentMachineState {
  /** Incremented on every state write; used for compare-and-set. */
  readonly version: number;
  /** Latest progress stage the agent reported, if any. */
  readonly progressStage: ProgressStage | null;
  readonly updatedAt: number;
}

/** Answer of {@link PaymentStore.createPayment}. */
export interface CreatePaymentResult {
  /** The stored payment (the existing one when `created` is false). */
  readonly payment: Payment;
  /** True when this call inserted the row. */
  readonly created: boolean;
}

/** A callback to enqueue along with a state change. */
export interface NewCallback {
  readonly url: string;
  /** JSON text of the body, built when the payment became final. */
  readonly body: string;
  /** Final status it announces. */
  readonly status: 'approved' | 'denied';
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
}

/** One row of the append-only audit log. */
export interface PaymentEventRecord {
  readonly seq: number;
  readonly paymentId: string;
  readonly type: string;
  readonly fromStatus: PaymentStatus | null;
  readonly toStatus: PaymentStatus;
  readonly data: unknown;
  readonly at: number;
}

/** Delivery state of a callback. */
export type CallbackStatus = 'pending' | 'delivered' | 'failed';

/** A callback in the durable outbox. */
export interface CallbackEntry {
  readonly id: number;
  readonly paymentId: string;
  readonly url: string;
  readonly body: string;
  readonly status: CallbackStatus;
  /** Attempts made so far (not counting the one about to be made). */
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly lastError: string | null;
  readonly lastHttpStatus: number | null;
}

/** A terminal agent (tokens are stored only as sha256 hashes). */
export interface AgentRecord {
  readonly agentId: string;
  readonly name: string;
  readonly createdAt: number;
}

/** A terminal serial and the agent that last announced it. */
export interface TerminalRecord {
  readonly serialNumber: string;
  readonly agentId: string;
  readonly lastSeenAt: number;
}

/**
 * Everything the server persists. All methods may reject with `CodedError('STORE_FAILED')`.
 */
export interface PaymentStore {
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
  /** The audit log of a payment, oldest first. */
  listPaymentEvents(paymentId: string): Promise<PaymentEventRecord[]>;

  /**
   * Leases up to `limit` pending callbacks due at `now`: their `nextAttemptAt` moves to
   * `now + leaseMs` so a crash mid-delivery retries them after the lease.
   */
  claimDueCallbacks(now: number, leaseMs: number, limit: number): Promise<CallbackEntry[]>;
  /** Marks a callback delivered. */
  markCallbackDelivered(id: number, attempts: number, httpStatus: number, at: number): Promise<void>;
  /** Schedules another attempt. */
  scheduleCallbackRetry(
    id: number,
    attempts: number,
    nextAttemptAt: number,
    error: string,
    httpStatus: number | null,
    at: number,
  ): Promise<void>;
  /** Gives a callback up. */
  markCallbackFailed(id: number, attempts: number, error: string, httpStatus: number | null, at: number): Promise<void>;
  /** Outbox entries of a payment (tests, future status endpoint). */
  listCallbacks(paymentId: string): Promise<CallbackEntry[]>;

  /** Creates an agent with the sha256 hex of its token. */
  createAgent(agent: AgentRecord, tokenSha256: string): Promise<void>;
  /** The agent whose token hashes to `tokenSha256`, or null. */
  findAgentByTokenHash(tokenSha256: string): Promise<AgentRecord | null>;
  /** Records that `agentId` announced `serialNumber`. */
  upsertTerminal(terminal: TerminalRecord): Promise<void>;
  /** The last agent that announced `serialNumber`, or null. */
  findTerminal(serialNumber: string): Promise<TerminalRecord | null>;

  /** Returns the value stored under `key`, storing `value` first when there is none (race-safe). */
  getOrSetMeta(key: string, value: string): Promise<string>;

  /** Closes the underlying database. */
  close(): Promise<void>;
}
