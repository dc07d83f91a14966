/**
 * {@link CallbackOutboxPort} on PostgreSQL: the `callback_outbox` table, leased by moving
 * `next_attempt_at` past the lease. A claim is one statement: the due rows are locked with
 * `FOR UPDATE … SKIP LOCKED` (rows another instance is claiming right now are skipped, not
 * waited for), ranked per merchant for the round-robin turn, and the chosen ones get the lease
 * in the same statement, so no two claimers ever get the same row while its lease holds.
 *
 * @see ../sqlite/callback-outbox.ts (the same ranking on SQLite)
 */
import type { CallbackClaimFairness, CallbackEntry, CallbackOutboxPort } from '../../ports/callback-outbox.ts';
import { toTs, type PgDb } from './pg-db.ts';
import { pgCallback, pgOp } from './rows.ts';

/** The callback outbox on the shared pool. */
export class PgCallbackOutbox implements CallbackOutboxPort {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  claimDueCallbacks(now: number, leaseMs: number, limit: number, fairness?: CallbackClaimFairness): Promise<CallbackEntry[]> {
    const perMerchantLimit = fairness?.perMerchantLimit ?? Number.MAX_SAFE_INTEGER;
    const inFlight = JSON.stringify(Object.fromEntries(fairness?.inFlight ?? []));
    return pgOp('claimDueCallbacks', async () => {
      // Rank each merchant's due callbacks oldest first; taking rank 1 of every merchant, then
      // rank 2, ... is the round-robin turn. A merchant's rank plus what it has in flight must
      // stay within its bound. The claimed rows are answered with the due time they had.
      const rows = await this.#db.rows<Record<string, unknown>>(
        `WITH locked AS (
           SELECT o.id, o.next_attempt_at, p.merchant_id
             FROM callback_outbox o JOIN payments p ON p.payment_id = o.payment_id
            WHERE o.status = 'pending' AND o.next_attempt_at <= $1
              FOR UPDATE OF o SKIP LOCKED
         ), ranked AS (
           SELECT locked.*, ROW_NUMBER() OVER (PARTITION BY merchant_id ORDER BY next_attempt_at, id) AS merchant_rank FROM locked
         ), picked AS (
           SELECT ranked.* FROM ranked LEFT JOIN jsonb_each_text($2::jsonb) AS busy ON busy.key = ranked.merchant_id
            WHERE ranked.merchant_rank + COALESCE(busy.value::bigint, 0) <= $3
            ORDER BY ranked.merchant_rank, ranked.next_attempt_at, ranked.id
            LIMIT $4
         ), claimed AS (
           UPDATE callback_outbox o SET next_attempt_at = $5, updated_at = $1 FROM picked WHERE o.id = picked.id
           RETURNING o.id, o.payment_id, o.url, o.body, o.status, o.attempts, o.last_error, o.last_http_status, o.expires_at,
                     picked.merchant_id, picked.merchant_rank, picked.next_attempt_at
         )
         SELECT * FROM claimed ORDER BY merchant_rank, next_attempt_at, id`,
        [toTs(now), inFlight, perMerchantLimit, Math.max(0, Math.trunc(limit)), toTs(now + leaseMs)],
      );
      return rows.map(pgCallback);
    });
  }

  markCallbackDelivered(id: number, attempts: number, httpStatus: number, at: number): Promise<void> {
    return pgOp('markCallbackDelivered', async () => {
      await this.#db.run(
        `UPDATE callback_outbox SET status = 'delivered', attempts = $1, last_http_status = $2, last_error = NULL, updated_at = $3 WHERE id = $4`,
        [attempts, httpStatus, toTs(at), id],
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
    return pgOp('scheduleCallbackRetry', async () => {
      await this.#db.run(
        `UPDATE callback_outbox SET attempts = $1, next_attempt_at = $2, last_error = $3, last_http_status = $4, updated_at = $5 WHERE id = $6`,
        [attempts, toTs(nextAttemptAt), error.slice(0, 500), httpStatus, toTs(at), id],
      );
    });
  }

  markCallbackFailed(id: number, attempts: number, error: string, httpStatus: number | null, at: number): Promise<void> {
    return pgOp('markCallbackFailed', async () => {
      await this.#db.run(
        `UPDATE callback_outbox SET status = 'failed', attempts = $1, last_error = $2, last_http_status = $3, updated_at = $4 WHERE id = $5`,
        [attempts, error.slice(0, 500), httpStatus, toTs(at), id],
      );
    });
  }

  listCallbacks(paymentId: string): Promise<CallbackEntry[]> {
    return pgOp('listCallbacks', async () => {
      const rows = await this.#db.rows<Record<string, unknown>>(
        `SELECT o.*, p.merchant_id AS merchant_id FROM callback_outbox o JOIN payments p ON p.payment_id = o.payment_id
          WHERE o.payment_id = $1 ORDER BY o.id`,
        [paymentId],
      );
      return rows.map(pgCallback);
    });
  }
}
