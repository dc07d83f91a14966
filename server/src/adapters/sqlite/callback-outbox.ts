/**
 * {@link CallbackOutboxPort} on SQLite: the `callback_outbox` table, leased by moving
 * `next_attempt_at` past the lease inside one `BEGIN IMMEDIATE` transaction.
 */
import type { CallbackClaimFairness, CallbackEntry, CallbackOutboxPort } from '../../ports/callback-outbox.ts';
import type { SqliteDb } from './sqlite-db.ts';
import { rowToCallback, runExclusive, type CallbackRow } from './rows.ts';

/** The callback outbox over one connection. */
export class SqliteCallbackOutbox implements CallbackOutboxPort {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  #op<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return runExclusive(this.#db, operation, fn);
  }

  claimDueCallbacks(now: number, leaseMs: number, limit: number, fairness?: CallbackClaimFairness): Promise<CallbackEntry[]> {
    const perMerchantLimit = fairness?.perMerchantLimit ?? Number.MAX_SAFE_INTEGER;
    const inFlight = JSON.stringify(Object.fromEntries(fairness?.inFlight ?? []));
    return this.#op('claimDueCallbacks', () =>
      this.#db.transaction(async () => {
        // Rank each merchant's due callbacks oldest first; taking rank 1 of every merchant, then
        // rank 2, ... is the round-robin turn. A merchant's rank plus what it has in flight must
        // stay within its bound.
        const rows = await this.#db.all<CallbackRow>(
          `WITH due AS (
             SELECT o.*, p.merchant_id AS merchant_id,
                    ROW_NUMBER() OVER (PARTITION BY p.merchant_id ORDER BY o.next_attempt_at, o.id) AS merchant_rank
               FROM callback_outbox o JOIN payments p ON p.payment_id = o.payment_id
              WHERE o.status = 'pending' AND o.next_attempt_at <= ?
           )
           SELECT due.* FROM due LEFT JOIN json_each(?) AS busy ON busy.key = due.merchant_id
            WHERE due.merchant_rank + COALESCE(busy.value, 0) <= ?
            ORDER BY due.merchant_rank, due.next_attempt_at, due.id
            LIMIT ?`,
          [now, inFlight, perMerchantLimit, limit],
        );
        for (const r of rows) {
          await this.#db.run('UPDATE callback_outbox SET next_attempt_at = ?, updated_at = ? WHERE id = ?', [
            now + leaseMs,
            now,
            r.id,
          ]);
        }
        return rows.map(rowToCallback);
      }),
    );
  }

  markCallbackDelivered(id: number, attempts: number, httpStatus: number, at: number): Promise<void> {
    return this.#op('markCallbackDelivered', async () => {
      await this.#db.run(
        `UPDATE callback_outbox SET status = 'delivered', attempts = ?, last_http_status = ?, last_error = NULL, updated_at = ? WHERE id = ?`,
        [attempts, httpStatus, at, id],
      );
    });
  }

  scheduleCallbackRetry(
    id: number,
    attempts: number,
    nextAttemptAt: number,
    error: string,
    httpStatus: number | null,
    at: number,
  ): Promise<void> {
    return this.#op('scheduleCallbackRetry', async () => {
      await this.#db.run(
        `UPDATE callback_outbox SET attempts = ?, next_attempt_at = ?, last_error = ?, last_http_status = ?, updated_at = ? WHERE id = ?`,
        [attempts, nextAttemptAt, error.slice(0, 500), httpStatus, at, id],
      );
    });
  }

  markCallbackFailed(id: number, attempts: number, error: string, httpStatus: number | null, at: number): Promise<void> {
    return this.#op('markCallbackFailed', async () => {
      await this.#db.run(
        `UPDATE callback_outbox SET status = 'failed', attempts = ?, last_error = ?, last_http_status = ?, updated_at = ? WHERE id = ?`,
        [attempts, error.slice(0, 500), httpStatus, at, id],
      );
    });
  }

  listCallbacks(paymentId: string): Promise<CallbackEntry[]> {
    return this.#op('listCallbacks', async () => {
      const rows = await this.#db.all<CallbackRow>(
        `SELECT o.*, p.merchant_id AS merchant_id FROM callback_outbox o JOIN payments p ON p.payment_id = o.payment_id
          WHERE o.payment_id = ? ORDER BY o.id`,
        [paymentId],
      );
      return rows.map(rowToCallback);
    });
  }
}
