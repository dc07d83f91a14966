/**
 * The callback outbox: the durable queue of final-status callbacks to VTEX (docs/ppp.md
 * "Callbacks"). Rows are enqueued with the state change that makes a payment final
 * (./payments.ts `PaymentChange.callback`); the callback workers of every instance claim them
 * with a lease (./leases.ts) and deliver them.
 *
 * Invariants:
 * - a payment has at most one outbox entry per kind (one per final status);
 * - a row is claimed by at most one lease at a time: claimable when `pending`, due
 *   (`nextAttemptAt ≤ now`) and not leased (no lease, or `leaseUntil ≤ now`);
 * - a row is settled (delivered, retried, failed) only by the holder of its current lease:
 *   the settle methods compare-and-set on (`leaseOwner`, `leaseUntil`), return false and write
 *   nothing when the row was claimed again meanwhile (or is no longer pending), and clear the
 *   lease when they apply.
 * Times are ms since epoch.
 */
import type { Lease } from './leases.ts';

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
  /** Instance holding the row's lease (./leases.ts); null: none (never claimed, or settled since). */
  readonly leaseOwner: string | null;
  /** When that lease runs out (ms since epoch); null with `leaseOwner`. */
  readonly leaseUntil: number | null;
  /** The payment's W3C trace id (sent as the POST's `traceparent`, docs/tracing.md); absent when it has none. */
  readonly traceId?: string;
}

/** An entry just claimed: it carries the claim's lease, which its settle must present. */
export interface ClaimedCallback extends CallbackEntry {
  readonly leaseOwner: string;
  readonly leaseUntil: number;
}

/** The lease of a claimed entry, as the settle methods take it. */
export function leaseOf(entry: ClaimedCallback): Lease {
  return { owner: entry.leaseOwner, until: entry.leaseUntil };
}

/** Per-merchant bound of {@link CallbackOutboxPort.claimDueCallbacks}. */
export interface CallbackClaimFairness {
  /** Most callbacks of one merchant in flight at once (≥ 1). */
  readonly perMerchantLimit: number;
  /** Callbacks already in flight, by merchantId (merchants absent have none). */
  readonly inFlight: ReadonlyMap<string, number>;
}

/**
 * Claims and settles outbox entries, with the lease rule of ./leases.ts. All methods may reject
 * with `CodedError('STORE_FAILED')`.
 */
export interface CallbackOutboxPort {
  /**
   * Claims up to `limit` claimable callbacks at `now` (pending, `nextAttemptAt ≤ now`, and no
   * lease or `leaseUntil ≤ now`) for `owner` until `now + leaseMs`; `nextAttemptAt` is kept. Two
   * claims, concurrent or not, never return the same row while its lease holds; a row whose
   * holder died is claimed again once the lease ran out, so a crash mid-delivery retries it.
   * With `fairness`, merchants take turns: each merchant's oldest due callback first, then each
   * one's second, and so on; a merchant gets at most `perMerchantLimit` minus its
   * `inFlight` count (the caller's own deliveries). Without it, there is no per-merchant bound
   * (same turn order).
   * @param leaseMs - ≥ 1; longer than one delivery attempt (the worker's time-out plus a margin).
   * @param owner - the claiming instance (./leases.ts `checkLeaseOwner`).
   * @returns the claimed entries, carrying their new lease.
   */
  claimDueCallbacks(
    now: number,
    leaseMs: number,
    limit: number,
    fairness: CallbackClaimFairness | undefined,
    owner: string,
  ): Promise<ClaimedCallback[]>;
  /**
   * Marks a callback delivered, if `lease` is still its lease.
   * @returns false (nothing written) when the row was claimed again or is no longer pending.
   */
  markCallbackDelivered(id: number, lease: Lease, attempts: number, httpStatus: number, at: number): Promise<boolean>;
  /**
   * Schedules another attempt at `nextAttemptAt` and ends the lease, if `lease` is still its
   * lease (`error` is kept to its first 500 characters).
   * @returns false (nothing written) when the row was claimed again or is no longer pending.
   */
  scheduleCallbackRetry(
    id: number,
    lease: Lease,
    attempts: number,
    nextAttemptAt: number,
    error: string,
    httpStatus: number | null,
    at: number,
  ): Promise<boolean>;
  /**
   * Gives a callback up, if `lease` is still its lease (`error` is kept to its first 500 characters).
   * @returns false (nothing written) when the row was claimed again or is no longer pending.
   */
  markCallbackFailed(id: number, lease: Lease, attempts: number, error: string, httpStatus: number | null, at: number): Promise<boolean>;
  /** Outbox entries of a payment, oldest first (tests, operators, future status endpoint). */
  listCallbacks(paymentId: string): Promise<CallbackEntry[]>;
}
