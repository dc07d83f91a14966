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
import type { PaymentEvent, PaymentMachineState, PaymentStatus } from '../domain/payment-machine.ts';
import type { CommandWrites, NewAgentCommand } from '../ports/agent-commands.ts';

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
  /** ms since epoch after which the outbox stops retrying (the payment's window closed); absent: only `maxAttempts` bounds it. */
  readonly expiresAt?: number;
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
  /** Agent commands opened and closed in the same transaction (ports/agent-commands.ts). */
  readonly commands?: CommandWrites;
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
  /** Merchant of the payment (the worker bounds deliveries in flight per merchant). */
  readonly merchantId: string;
  readonly url: string;
  readonly body: string;
  readonly status: CallbackStatus;
  /** Attempts made so far (not counting the one about to be made). */
  readonly attempts: number;
  readonly nextAttemptAt: number;
  readonly lastError: string | null;
  readonly lastHttpStatus: number | null;
  /** ms since epoch after which no more attempts are made; null: only `maxAttempts` bounds it. */
  readonly expiresAt: number | null;
}

/** Per-merchant bound of {@link PaymentStore.claimDueCallbacks}. */
export interface CallbackClaimFairness {
  /** Most callbacks of one merchant in flight at once (≥ 1). */
  readonly perMerchantLimit: number;
  /** Callbacks already in flight, by merchantId (merchants absent have none). */
  readonly inFlight: ReadonlyMap<string, number>;
}

/** A terminal agent (tokens are stored only as sha256 hashes). */
export interface AgentRecord {
  readonly agentId: string;
  readonly name: string;
  readonly createdAt: number;
  /** Store the agent serves; null = the bootstrap merchant's default store. */
  readonly storeId?: string | null;
}

/** Id of the merchant configured by environment variables (single-merchant deployments). */
export const BOOTSTRAP_MERCHANT_ID = 'mch_bootstrap';
/** Default store of the bootstrap merchant (agents created without `--store`). */
export const BOOTSTRAP_STORE_ID = 'sto_bootstrap';

/** How a merchant wants to be told that a payment became final. @see ppp-pos.md §6 */
export type CallbackMode = 'notification' | 'retry';

/** A merchant (a VTEX account): its own credentials, stores and terminals. */
export interface MerchantRecord {
  readonly merchantId: string;
  /** VTEX `merchantName` the credentials belong to; null = any (bootstrap merchant without a name). */
  readonly name: string | null;
  readonly appKey: string;
  /** sha256 hex of the appToken (the token itself is never stored). */
  readonly appTokenSha256: string;
  readonly callbackMode: CallbackMode;
  readonly createdAt: number;
}

/** A physical store of a merchant; agents (and so terminals) belong to one. */
export interface StoreRecord {
  readonly storeId: string;
  readonly merchantId: string;
  readonly name: string;
  readonly createdAt: number;
}

/** A terminal with where it belongs, for listings. */
export interface TerminalListing extends TerminalRecord {
  readonly agentName: string;
  readonly storeId: string;
  readonly storeName: string;
  readonly merchantId: string;
  readonly merchantName: string | null;
}

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

/** Answer of {@link PaymentStore.recordOperation}. */
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

/** Sums of a payment's operations, minor units. */
export interface OperationTotals {
  readonly settledMinor: number;
  /** Approved refunds. */
  readonly refundedMinor: number;
  /** Refunds still pending or unknown (reserved against the settled amount). */
  readonly refundingMinor: number;
}

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
}

/**
 * A terminal serial and the agent that owns it. The owner's store and merchant own the serial:
 * it is set by the first registration and changed only by {@link PaymentStore.moveTerminal}.
 */
export interface TerminalRecord {
  readonly serialNumber: string;
  readonly agentId: string;
  /** Last `agent.hello` of the owner announcing it, ms since epoch. */
  readonly lastSeenAt: number;
}

/** A change of a terminal's owning agent (docs/protocol/ws.md "Terminal ownership"). */
export interface TerminalMove {
  readonly serialNumber: string;
  /** The owner the move was decided against (compare-and-set). */
  readonly fromAgentId: string;
  readonly toAgentId: string;
  /** Who moved it: `hub` (identity confirmed by the device, previous agent offline) or `cli:<os user>`. */
  readonly actor: string;
  /** Why, as given by the actor (≤ 500 characters). */
  readonly reason: string;
  readonly at: number;
}

/** One row of a terminal's ownership audit log. */
export interface TerminalEventRecord {
  readonly seq: number;
  readonly serialNumber: string;
  readonly type: 'registered' | 'moved';
  readonly fromAgentId: string | null;
  readonly toAgentId: string;
  readonly actor: string;
  readonly reason: string;
  readonly at: number;
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
   * With `fairness`, merchants take turns: each merchant's oldest due callback first, then each
   * one's second, and so on; a merchant gets at most `perMerchantLimit` minus its
   * `inFlight` count. Without it, there is no per-merchant bound (same turn order).
   */
  claimDueCallbacks(now: number, leaseMs: number, limit: number, fairness?: CallbackClaimFairness): Promise<CallbackEntry[]>;
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
  /** The agent, or null. */
  getAgent(agentId: string): Promise<AgentRecord | null>;
  /**
   * First registration: stores `terminal` unless the serial is already registered (safe under
   * concurrency), with a `registered` audit event by `hub`. Never changes an existing owner.
   * @returns the stored record (`terminal` when inserted, else the existing owner's) and whether this call inserted it.
   */
  registerTerminal(terminal: TerminalRecord): Promise<{ terminal: TerminalRecord; created: boolean }>;
  /** Sets `lastSeenAt` when `agentId` owns the serial. @returns false when it does not. */
  touchTerminal(serialNumber: string, agentId: string, at: number): Promise<boolean>;
  /**
   * Moves the serial to `toAgentId` if `fromAgentId` still owns it, with a `moved` audit event, in
   * one transaction. @returns false (nothing written) when the owner changed meanwhile.
   */
  moveTerminal(move: TerminalMove): Promise<boolean>;
  /** The ownership audit log of a serial, oldest first. */
  listTerminalEvents(serialNumber: string): Promise<TerminalEventRecord[]>;
  /** The agent that owns `serialNumber`, or null. */
  findTerminal(serialNumber: string): Promise<TerminalRecord | null>;

  /** Payments whose `deadlineAt` is ≤ `now` and that still wait for a terminal, oldest first. */
  listDuePayments(now: number, limit: number): Promise<Payment[]>;
  /** Payments in any of `statuses` bound to one of `serialNumbers` (re-sends after a reconnect). */
  listPaymentsIn(statuses: readonly PaymentStatus[], serialNumbers: readonly string[]): Promise<Payment[]>;
  /** Number of payments per status (metrics). */
  countPaymentsByStatus(): Promise<Partial<Record<PaymentStatus, number>>>;

  /**
   * Records an operation once per (`paymentId`, `kind`, `requestId`), atomically with the
   * amount invariants: settlements need an `approved` payment and keep Σ settled ≤ authorized;
   * refunds keep Σ refunds (approved + pending + unknown) ≤ Σ settled. Cancellations are
   * recorded unconditionally. A repeat returns the existing row (`existing`) whatever its amount.
   * A new settlement also bumps the payment's `version` in the same transaction, so a state
   * change computed before it (a cancellation that read "nothing settled") fails its
   * compare-and-set and is recomputed: cancel and settle are serialised on the payment row.
   */
  recordOperation(input: NewOperation): Promise<RecordOperationResult>;
  /** The operation with this id, or null. */
  getOperation(operationId: string): Promise<OperationRecord | null>;
  /** The operation of (`paymentId`, `kind`, `requestId`), or null. */
  findOperation(paymentId: string, kind: OperationKind, requestId: string): Promise<OperationRecord | null>;
  /** Sets the terminal outcome of a `pending`/`unknown` operation. @returns the row, or null when it was already final. */
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
   * before the terminal took it, e.g. busy). VTEX's repeat of the request records a new attempt.
   * @returns true when the row was removed, false when it is gone, final or answered.
   */
  releaseOperation(operationId: string): Promise<boolean>;
  /** Stores the final answer once (first writer wins). @returns the row with the stored answer. */
  setOperationAnswer(operationId: string, httpStatus: number, body: unknown, at: number): Promise<OperationRecord>;
  /** Refunds still `pending`/`unknown` on one of `serialNumbers` (re-sent after a reconnect). */
  listOpenRefunds(serialNumbers: readonly string[]): Promise<OperationRecord[]>;
  /** Σ of a payment's settlements and refunds. */
  operationTotals(paymentId: string): Promise<OperationTotals>;

  /** Creates or updates the bootstrap merchant (env credentials) and its default store. */
  upsertBootstrapMerchant(merchant: MerchantRecord): Promise<void>;
  /** Creates a merchant. @throws CodedError `CFG_INVALID` when the name or appKey is taken. */
  createMerchant(merchant: MerchantRecord): Promise<void>;
  /** The merchant with this appKey, or null. */
  findMerchantByAppKey(appKey: string): Promise<MerchantRecord | null>;
  /** The merchant with this name, or null. */
  findMerchantByName(name: string): Promise<MerchantRecord | null>;
  /** The merchant, or null. */
  getMerchant(merchantId: string): Promise<MerchantRecord | null>;
  /** Every merchant, oldest first. */
  listMerchants(): Promise<MerchantRecord[]>;
  /** Creates a store. @throws CodedError `CFG_INVALID` when the merchant already has one of that name. */
  createStore(store: StoreRecord): Promise<void>;
  /** The store of a merchant by name, or null. */
  findStore(merchantId: string, name: string): Promise<StoreRecord | null>;
  /** The merchant and store an agent serves, or null for an unknown agent. */
  agentOwner(agentId: string): Promise<{ merchantId: string; storeId: string } | null>;
  /** Terminals with their agent, store and merchant; only `merchantId`'s when given. */
  listTerminals(merchantId?: string): Promise<TerminalListing[]>;

  /** Returns the value stored under `key`, storing `value` first when there is none (race-safe). */
  getOrSetMeta(key: string, value: string): Promise<string>;
  /** The value stored under `key`, or null. */
  getMeta(key: string): Promise<string | null>;
  /** Removes `key` (nothing when absent), leaving no copy of its value in the database file. */
  deleteMeta(key: string): Promise<void>;

  /** Closes the underlying database. */
  close(): Promise<void>;
}
