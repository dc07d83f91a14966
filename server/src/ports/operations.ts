/**
 * The operations port: VTEX's follow-up requests on a payment (cancellations, settlements,
 * refunds), idempotent by (`paymentId`, kind, `requestId`) and bounded by the money rules of
 * domain/operation-limits.ts (docs/ppp.md "Idempotency and amounts", "Concurrent requests").
 *
 * Times are ms since epoch. Amounts are integer minor units of the payment's currency.
 */
import type { NewAgentCommand } from './agent-commands.ts';
import type { Payment } from './payments.ts';
import type { NewAuditEntry } from './admin.ts';

export type { OperationTotals } from '../domain/operation-limits.ts';
import type { OperationTotals } from '../domain/operation-limits.ts';

/** Kind of a VTEX follow-up request. */
export type OperationKind = 'cancel' | 'settle' | 'refund';

/** Progress of an operation: `pending` (terminal working / not answered), then a terminal outcome. */
export type OperationStatus = 'pending' | 'approved' | 'denied' | 'unknown';

/** A cancellation, settlement or refund, idempotent by (`paymentId`, `kind`, `requestId`). */
export interface OperationRecord {
  /** posbridge's id (`cancellationId` / `settleId` / `refundId`, and the agent's `operationId`). */
  readonly operationId: string;
  readonly paymentId: string;
  readonly kind: OperationKind;
  readonly requestId: string;
  /** Minor units (0 for cancellations). */
  readonly amountMinor: number;
  readonly status: OperationStatus;
  /** Terminal that runs it (refunds). */
  readonly serialNumber: string | null;
  readonly terminalRef: string | null;
  readonly authorizationId: string | null;
  readonly nsu: string | null;
  readonly responseCode: string | null;
  readonly message: string | null;
  /** The final HTTP answer given to VTEX, repeated verbatim to a repeated `requestId`. */
  readonly answer: { readonly httpStatus: number; readonly body: unknown } | null;
  readonly createdAt: number;
  readonly updatedAt: number;
}

/** A new operation. */
export interface NewOperation {
  readonly operationId: string;
  readonly paymentId: string;
  readonly kind: OperationKind;
  readonly requestId: string;
  readonly amountMinor: number;
  readonly status: OperationStatus;
  readonly serialNumber?: string | null;
  readonly at: number;
  /**
   * The agent command (a refund's `operation.start`) opened in the same transaction when the
   * operation is created; nothing for a repeat or a refusal. Recording the refund's final outcome
   * (`setOperationOutcome` approved/denied, `resolveUnknownOperation`) or releasing it closes the
   * command of the same id in that transaction.
   */
  readonly command?: NewAgentCommand;
}

/** Answer of {@link OperationsPort.recordOperation}. */
export type RecordOperationResult =
  | { readonly kind: 'existing'; readonly operation: OperationRecord }
  | { readonly kind: 'created'; readonly operation: OperationRecord }
  /**
   * Refused by the store invariant (nothing written): the payment is not in a state that allows
   * it, or the amount is over the limit. `payment` is the row as the refusal saw it (null when it
   * does not exist), so the answer can say why.
   */
  | {
      readonly kind: 'refused';
      readonly reason: 'not_approved' | 'exceeds';
      readonly limitMinor: number;
      readonly payment?: Pick<Payment, 'status' | 'endReason'> | null;
    };

/** Terminal fields of an operation outcome. */
export interface OperationOutcomeChange {
  readonly status: OperationStatus;
  readonly terminalRef?: string | null;
  readonly authorizationId?: string | null;
  readonly nsu?: string | null;
  readonly responseCode?: string | null;
  readonly message?: string | null;
  readonly at: number;
}

/**
 * An operator's decision on a refund whose terminal outcome is `unknown`
 * (`posbridge-server operation resolve`), kept in the payment's events as
 * `operation.resolved` with `operator` (who), `reason` (why) and `at` (when).
 */
export interface OperationResolution {
  readonly operationId: string;
  readonly status: 'approved' | 'denied';
  /** Becomes the operation's `message`. */
  readonly message: string;
  readonly operator: string;
  readonly reason: string;
  /** ms since epoch. */
  readonly at: number;
  /** The admin audit row of this decision (./admin.ts), appended in the same transaction when given. */
  readonly audit?: NewAuditEntry;
}

/** Operation rows. All methods may reject with `CodedError('STORE_FAILED')`. */
export interface OperationsPort {
  /**
   * Records an operation once per (`paymentId`, `kind`, `requestId`), atomically with the
   * amount invariants of domain/operation-limits.ts: settlements need an `approved` payment and
   * keep Σ settled ≤ authorized; refunds keep Σ refunds (approved + pending + unknown) ≤ Σ settled.
   * Cancellations are recorded unconditionally. A repeat returns the existing row (`existing`)
   * whatever its amount.
   * A new settlement also bumps the payment's `version` in the same transaction, so a state
   * change computed before it (a cancellation that read "nothing settled") fails its
   * compare-and-set and is recomputed: cancel and settle are serialised on the payment row.
   */
  recordOperation(input: NewOperation): Promise<RecordOperationResult>;
  /** The operation with this id, or null. */
  getOperation(operationId: string): Promise<OperationRecord | null>;
  /** The operation of (`paymentId`, `kind`, `requestId`), or null. */
  findOperation(paymentId: string, kind: OperationKind, requestId: string): Promise<OperationRecord | null>;
  /**
   * Sets the terminal outcome of a `pending`/`unknown` operation (absent or null fields keep
   * their stored value). @returns the row, or null when it was already final.
   */
  setOperationOutcome(operationId: string, change: OperationOutcomeChange): Promise<OperationRecord | null>;
  /**
   * Settles an `unknown` operation by an operator's decision and appends the `operation.resolved`
   * event (operationId, kind, outcome, operator, reason) to its payment's events, in one
   * transaction (the payment's state is unchanged: from = to).
   * @returns the updated row, or null when it is missing or not `unknown`.
   */
  resolveUnknownOperation(resolution: OperationResolution): Promise<OperationRecord | null>;
  /** Number of operations (refunds) whose terminal outcome is `unknown` (metrics). */
  countUnknownOperations(): Promise<number>;
  /**
   * Removes a refund that never ran: still `pending`, no answer stored (its agent refused it
   * before the terminal took it, e.g. busy), and closes its command (reason `released`) at `at`
   * (ms since epoch). VTEX's repeat of the request records a new attempt.
   * @returns true when the row was removed, false when it is gone, final or answered.
   */
  releaseOperation(operationId: string, at: number): Promise<boolean>;
  /** Stores the final answer once (first writer wins). @returns the row with the stored answer. */
  setOperationAnswer(operationId: string, httpStatus: number, body: unknown, at: number): Promise<OperationRecord>;
  /** Refunds still `pending`/`unknown` on one of `serialNumbers` (re-sent after a reconnect), oldest first. */
  listOpenRefunds(serialNumbers: readonly string[]): Promise<OperationRecord[]>;
  /** Σ of a payment's settlements and refunds (domain/operation-limits.ts `operationTotals`). */
  operationTotals(paymentId: string): Promise<OperationTotals>;
}
