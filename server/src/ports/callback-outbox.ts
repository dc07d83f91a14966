/**
 * The callback outbox: the durable queue of final-status callbacks to VTEX (docs/ppp.md
 * "Callbacks"). Rows are enqueued with the state change that makes a payment final
 * (./payments.ts `PaymentChange.callback`); the callback worker leases and delivers them.
 *
 * Invariant: a payment has at most one outbox entry per kind (one per final status).
 * Times are ms since epoch.
 */

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

/** Per-merchant bound of {@link CallbackOutboxPort.claimDueCallbacks}. */
export interface CallbackClaimFairness {
  /** Most callbacks of one merchant in flight at once (≥ 1). */
  readonly perMerchantLimit: number;
  /** Callbacks already in flight, by merchantId (merchants absent have none). */
  readonly inFlight: ReadonlyMap<string, number>;
}

/** Leases and settles outbox entries. All methods may reject with `CodedError('STORE_FAILED')`. */
export interface CallbackOutboxPort {
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
  /** Schedules another attempt (`error` is kept to its first 500 characters). */
  scheduleCallbackRetry(
    id: number,
    attempts: number,
    nextAttemptAt: number,
    error: string,
    httpStatus: number | null,
    at: number,
  ): Promise<void>;
  /** Gives a callback up (`error` is kept to its first 500 characters). */
  markCallbackFailed(id: number, attempts: number, error: string, httpStatus: number | null, at: number): Promise<void>;
  /** Outbox entries of a payment, oldest first (tests, future status endpoint). */
  listCallbacks(paymentId: string): Promise<CallbackEntry[]>;
}
