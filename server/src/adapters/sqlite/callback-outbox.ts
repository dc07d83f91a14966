/**
 * {@link CallbackOutboxPort} on SQLite: the `callback_outbox` table, claimed by writing
 * `lease_owner` / `lease_until` inside one `BEGIN IMMEDIATE` transaction (one writer at a time
 * over every connection to the file, so two claims never take the same row), and settled by an
 * UPDATE that matches the lease (ports/leases.ts). A claim first asks the reader connection
 * (./sqlite-db.ts `read`) whether any row is due at all, so the worker's idle polls never take
 * the write lock; a row that became due just after that look is taken by the next poll.
 */
import type { CallbackClaimFairness, CallbackEntry, CallbackOutboxPort, ClaimedCallback } from '../../ports/callback-outbox.ts';
import type { Lease } from '../../ports/leases.ts';
import type { SqliteDb } from './sqlite-db.ts';
import { readCommitted, rowToCallback, runExclusive, type CallbackRow } from './rows.ts';

/** Is any callback due (the claim's WHERE, without ranking)? Answered from the index on (status, next_attempt_at). */
const DUE_ANY = `SELECT 1 FROM callback_outbox
  WHERE status = 'pending' AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?) LIMIT 1`;

/** The callback outbox over one connection. */
export class SqliteCallbackOutbox implements CallbackOutboxPort {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  #op<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return runExclusive(this.#db, operation, fn);
  }

  /** Runs `UPDATE callback_outbox SET <set>, lease_owner = NULL, lease_until = NULL` on a pending row holding `lease`. */
  #settle(operation: string, id: number, lease: Lease, set: string, params: readonly (string | number | null)[]): Promise<boolean> {
    return this.#op(operation, async () => {
      const info = await this.#db.cachedRun(
        `UPDATE callback_outbox SET ${set}, lease_owner = NULL, lease_until = NULL
          WHERE id = ? AND status = 'pending' AND lease_owner = ? AND lease_until = ?`,
        [...params, id, lease.owner, lease.until],
      );
      return info.changes === 1;
    });
  }

  claimDueCallbacks(
    now: number,
    leaseMs: number,
    limit: number,
    fairness: CallbackClaimFairness | undefined,
    owner: string,
  ): Promise<ClaimedCallback[]> {
    const perMerchantLimit = fairness?.perMerchantLimit ?? Number.MAX_SAFE_INTEGER;
    const inFlight = JSON.stringify(Object.fromEntries(fairness?.inFlight ?? []));
    return this.#claim(now, leaseMs, limit, perMerchantLimit, inFlight, owner);
  }

  async #claim(now: number, leaseMs: number, limit: number, perMerchantLimit: number, inFlight: string, owner: string): Promise<ClaimedCallback[]> {
    if ((await readCommitted(this.#db, 'claimDueCallbacks', DUE_ANY, [now, now])).length === 0) return [];
    return this.#op('claimDueCallbacks', () =>
      this.#db.transaction(async () => {
        // Rank each merchant's due callbacks oldest first; taking rank 1 of every merchant, then
        // rank 2, ... is the round-robin turn. A merchant's rank plus what it has in flight must
        // stay within its bound.
        const rows = await this.#db.cachedAll<CallbackRow>(
          `WITH due AS (
             SELECT o.*, p.merchant_id AS merchant_id, p.trace_id AS trace_id,
                    ROW_NUMBER() OVER (PARTITION BY p.merchant_id ORDER BY o.next_attempt_at, o.id) AS merchant_rank
               FROM callback_outbox o JOIN payments p ON p.payment_id = o.payment_id
              WHERE o.status = 'pending' AND o.next_attempt_at <= ? AND (o.lease_until IS NULL OR o.lease_until <= ?)
           )
           SELECT due.* FROM due LEFT JOIN json_each(?) AS busy ON busy.key = due.merchant_id
            WHERE due.merchant_rank + COALESCE(busy.value, 0) <= ?
            ORDER BY due.merchant_rank, due.next_attempt_at, due.id
            LIMIT ?`,
          [now, now, inFlight, perMerchantLimit, limit],
        );
        const lease = { leaseOwner: owner, leaseUntil: now + leaseMs };
        if (rows.length > 0) {
          // One statement for the whole claim: the ids are a JSON array (constant SQL text).
          await this.#db.cachedRun('UPDATE callback_outbox SET lease_owner = ?, lease_until = ?, updated_at = ? WHERE id IN (SELECT value FROM json_each(?))', [
            lease.leaseOwner,
            lease.leaseUntil,
            now,
            JSON.stringify(rows.map((r) => r.id)),
          ]);
        }
        return rows.map((r) => ({ ...rowToCallback(r), ...lease }));
      }),
    );
  }

  markCallbackDelivered(id: number, lease: Lease, attempts: number, httpStatus: number, at: number): Promise<boolean> {
    return this.#settle('markCallbackDelivered', id, lease, `status = 'delivered', attempts = ?, last_http_status = ?, last_error = NULL, updated_at = ?`, [
      attempts,
      httpStatus,
      at,
    ]);
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
    return this.#settle(
      'scheduleCallbackRetry',
      id,
      lease,
      'attempts = ?, next_attempt_at = ?, last_error = ?, last_http_status = ?, updated_at = ?',
      [attempts, nextAttemptAt, error.slice(0, 500), httpStatus, at],
    );
  }

  markCallbackFailed(id: number, lease: Lease, attempts: number, error: string, httpStatus: number | null, at: number): Promise<boolean> {
    return this.#settle('markCallbackFailed', id, lease, `status = 'failed', attempts = ?, last_error = ?, last_http_status = ?, updated_at = ?`, [
      attempts,
      error.slice(0, 500),
      httpStatus,
      at,
    ]);
  }

  listCallbacks(paymentId: string): Promise<CallbackEntry[]> {
    return this.#op('listCallbacks', async () => {
      const rows = await this.#db.all<CallbackRow>(
        `SELECT o.*, p.merchant_id AS merchant_id, p.trace_id AS trace_id FROM callback_outbox o JOIN payments p ON p.payment_id = o.payment_id
          WHERE o.payment_id = ? ORDER BY o.id`,
        [paymentId],
      );
      return rows.map(rowToCallback);
    });
  }
}
