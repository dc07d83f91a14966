/**
 * {@link CallbackOutboxPort} in memory, with the semantics of the SQLite adapter: a claim leases
 * the claimable callbacks (pending, due, not leased) to its owner until `now + leaseMs`,
 * merchants taking turns (each one's oldest first, then each one's second, …) within their
 * in-flight bound; a settle applies only while the row carries the settler's lease.
 */
import type { CallbackClaimFairness, CallbackEntry, CallbackOutboxPort, ClaimedCallback } from '../../ports/callback-outbox.ts';
import type { Lease } from '../../ports/leases.ts';
import { byKeys, type CallbackRow, type MemoryConnection } from './state.ts';

/** The callback outbox over a memory connection. */
export class MemoryCallbackOutbox implements CallbackOutboxPort {
  readonly #conn: MemoryConnection;

  constructor(conn: MemoryConnection) {
    this.#conn = conn;
  }

  /** The entry of a row, with its payment's merchant (null when the payment is missing). */
  #entry(row: CallbackRow): CallbackEntry | null {
    const payment = this.#conn.tables.payments.get(row.paymentId);
    if (!payment) return null;
    return {
      id: row.id,
      paymentId: row.paymentId,
      merchantId: payment.merchantId,
      ...(payment.traceId !== undefined ? { traceId: payment.traceId } : {}),
      url: row.url,
      body: row.body,
      status: row.status,
      attempts: row.attempts,
      nextAttemptAt: row.nextAttemptAt,
      lastError: row.lastError,
      lastHttpStatus: row.lastHttpStatus,
      expiresAt: row.expiresAt,
      leaseOwner: row.leaseOwner,
      leaseUntil: row.leaseUntil,
    };
  }

  #update(id: number, fields: Partial<Omit<CallbackRow, 'id' | 'paymentId' | 'kind'>>): void {
    const { callbacks } = this.#conn.tables;
    const row = callbacks.get(id);
    if (row) callbacks.set(id, { ...row, ...fields });
  }

  /** Writes `fields` and ends the lease if the row is pending and carries `lease`; else false. */
  #settle(id: number, lease: Lease, fields: Partial<Omit<CallbackRow, 'id' | 'paymentId' | 'kind'>>): boolean {
    const row = this.#conn.tables.callbacks.get(id);
    if (!row || row.status !== 'pending' || row.leaseOwner !== lease.owner || row.leaseUntil !== lease.until) return false;
    this.#update(id, { ...fields, leaseOwner: null, leaseUntil: null });
    return true;
  }

  claimDueCallbacks(
    now: number,
    leaseMs: number,
    limit: number,
    fairness: CallbackClaimFairness | undefined,
    owner: string,
  ): Promise<ClaimedCallback[]> {
    const perMerchantLimit = fairness?.perMerchantLimit ?? Number.MAX_SAFE_INTEGER;
    return this.#conn.run('claimDueCallbacks', () => {
      const due = [...this.#conn.tables.callbacks.values()]
        .filter((r) => r.status === 'pending' && r.nextAttemptAt <= now && (r.leaseUntil === null || r.leaseUntil <= now))
        .map((r) => this.#entry(r))
        .filter((e): e is CallbackEntry => e !== null)
        .sort(byKeys<CallbackEntry>((e) => e.nextAttemptAt, (e) => e.id));
      // Rank each merchant's due callbacks oldest first: rank 1 of every merchant, then rank 2, …
      const ranks = new Map<string, number>();
      const ranked = due.map((entry) => {
        const rank = (ranks.get(entry.merchantId) ?? 0) + 1;
        ranks.set(entry.merchantId, rank);
        return { entry, rank };
      });
      const turns = ranked
        .filter(({ entry, rank }) => rank + (fairness?.inFlight.get(entry.merchantId) ?? 0) <= perMerchantLimit)
        .sort(byKeys<{ entry: CallbackEntry; rank: number }>((r) => r.rank, (r) => r.entry.nextAttemptAt, (r) => r.entry.id))
        .map((r) => r.entry);
      const chosen = limit < 0 ? turns : turns.slice(0, limit); // SQL: a negative LIMIT is none
      const lease = { leaseOwner: owner, leaseUntil: now + leaseMs };
      for (const entry of chosen) this.#update(entry.id, { ...lease, updatedAt: now });
      return chosen.map((entry) => ({ ...entry, ...lease }));
    });
  }

  markCallbackDelivered(id: number, lease: Lease, attempts: number, httpStatus: number, at: number): Promise<boolean> {
    return this.#conn.run('markCallbackDelivered', () =>
      this.#settle(id, lease, { status: 'delivered', attempts, lastHttpStatus: httpStatus, lastError: null, updatedAt: at }),
    );
  }

  scheduleCallbackRetry(
    id: number,
    lease: Lease,
    attempts: number,
    nextAttemptAt: number,
    error: string,
    httpStatus: number | null,
    at: number,
  ): Promise<boolean> {
    return this.#conn.run('scheduleCallbackRetry', () =>
      this.#settle(id, lease, { attempts, nextAttemptAt, lastError: error.slice(0, 500), lastHttpStatus: httpStatus, updatedAt: at }),
    );
  }

  markCallbackFailed(id: number, lease: Lease, attempts: number, error: string, httpStatus: number | null, at: number): Promise<boolean> {
    return this.#conn.run('markCallbackFailed', () =>
      this.#settle(id, lease, { status: 'failed', attempts, lastError: error.slice(0, 500), lastHttpStatus: httpStatus, updatedAt: at }),
    );
  }

  listCallbacks(paymentId: string): Promise<CallbackEntry[]> {
    return this.#conn.run('listCallbacks', () =>
      [...this.#conn.tables.callbacks.values()]
        .filter((r) => r.paymentId === paymentId)
        .sort((a, b) => a.id - b.id)
        .map((r) => this.#entry(r))
        .filter((e): e is CallbackEntry => e !== null),
    );
  }
}
