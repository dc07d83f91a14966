/**
 * {@link CallbackOutboxPort} in memory, with the semantics of the SQLite adapter: a claim leases
 * the due pending callbacks by moving `nextAttemptAt` to `now + leaseMs`, merchants taking turns
 * (each one's oldest first, then each one's second, …) within their in-flight bound.
 */
import type { CallbackClaimFairness, CallbackEntry, CallbackOutboxPort } from '../../ports/callback-outbox.ts';
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
      url: row.url,
      body: row.body,
      status: row.status,
      attempts: row.attempts,
      nextAttemptAt: row.nextAttemptAt,
      lastError: row.lastError,
      lastHttpStatus: row.lastHttpStatus,
      expiresAt: row.expiresAt,
    };
  }

  #update(id: number, fields: Partial<Omit<CallbackRow, 'id' | 'paymentId' | 'kind'>>): void {
    const { callbacks } = this.#conn.tables;
    const row = callbacks.get(id);
    if (row) callbacks.set(id, { ...row, ...fields });
  }

  claimDueCallbacks(now: number, leaseMs: number, limit: number, fairness?: CallbackClaimFairness): Promise<CallbackEntry[]> {
    const perMerchantLimit = fairness?.perMerchantLimit ?? Number.MAX_SAFE_INTEGER;
    return this.#conn.run('claimDueCallbacks', () => {
      const due = [...this.#conn.tables.callbacks.values()]
        .filter((r) => r.status === 'pending' && r.nextAttemptAt <= now)
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
      for (const entry of chosen) this.#update(entry.id, { nextAttemptAt: now + leaseMs, updatedAt: now });
      return chosen;
    });
  }

  markCallbackDelivered(id: number, attempts: number, httpStatus: number, at: number): Promise<void> {
    return this.#conn.run('markCallbackDelivered', () =>
      this.#update(id, { status: 'delivered', attempts, lastHttpStatus: httpStatus, lastError: null, updatedAt: at }),
    );
  }

  scheduleCallbackRetry(
    id: number,
    attempts: number,
    nextAttemptAt: number,
    error: string,
    httpStatus: number | null,
    at: number,
  ): Promise<void> {
    return this.#conn.run('scheduleCallbackRetry', () =>
      this.#update(id, { attempts, nextAttemptAt, lastError: error.slice(0, 500), lastHttpStatus: httpStatus, updatedAt: at }),
    );
  }

  markCallbackFailed(id: number, attempts: number, error: string, httpStatus: number | null, at: number): Promise<void> {
    return this.#conn.run('markCallbackFailed', () =>
      this.#update(id, { status: 'failed', attempts, lastError: error.slice(0, 500), lastHttpStatus: httpStatus, updatedAt: at }),
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
