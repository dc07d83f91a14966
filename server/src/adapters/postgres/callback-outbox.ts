/**
 * {@link CallbackOutboxPort} on PostgreSQL: the `callback_outbox` table, leased with
 * `lease_owner` / `lease_until` (../../ports/leases.ts). A claim is one statement: the claimable
 * rows are ranked per merchant for the round-robin turn and the chosen ones are locked with
 * `FOR UPDATE OF o SKIP LOCKED` (rows another instance is claiming right now are skipped, not
 * waited for) and given the lease by the same statement's `UPDATE … FROM`. Locking re-checks the
 * claimable condition on the latest committed row (READ COMMITTED re-evaluation), so a row
 * another claim leased after this statement's snapshot is skipped too: no two claims ever get the
 * same row while its lease holds. Only the chosen rows are locked, never the whole backlog. A
 * settle is one compare-and-set `UPDATE … WHERE lease_owner = $o AND lease_until = $u`.
 *
 * @see ../sqlite/callback-outbox.ts (the same ranking on SQLite)
 */
import type { CallbackClaimFairness, CallbackEntry, CallbackOutboxPort, ClaimedCallback } from '../../ports/callback-outbox.ts';
import type { Lease } from '../../ports/leases.ts';
import { toTs, type PgDb, type PgParam } from './pg-db.ts';
import { pgCallback, pgOp } from './rows.ts';

/** The turn order of a claim: merchant rank, then due time, then id. */
function byTurn(a: { rank: number; entry: CallbackEntry }, b: { rank: number; entry: CallbackEntry }): number {
  return a.rank - b.rank || a.entry.nextAttemptAt - b.entry.nextAttemptAt || a.entry.id - b.entry.id;
}

/** The callback outbox on the shared pool. */
export class PgCallbackOutbox implements CallbackOutboxPort {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  /**
   * Runs `UPDATE callback_outbox SET <set>, lease_owner = NULL, lease_until = NULL` on row `id`
   * when it is pending and holds `lease`; `set` uses `$1…$n` for `params`.
   * @returns whether it applied.
   */
  #settle(operation: string, id: number, lease: Lease, set: string, params: readonly PgParam[]): Promise<boolean> {
    const n = params.length;
    return pgOp(operation, async () => {
      const changed = await this.#db.run(
        `UPDATE callback_outbox SET ${set}, lease_owner = NULL, lease_until = NULL
          WHERE id = $${n + 1} AND status = 'pending' AND lease_owner = $${n + 2} AND lease_until = $${n + 3}`,
        [...params, id, lease.owner, toTs(lease.until)],
      );
      return changed === 1;
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
    const until = now + leaseMs;
    return pgOp('claimDueCallbacks', async () => {
      // Rank each merchant's claimable callbacks oldest first; taking rank 1 of every merchant,
      // then rank 2, ... is the round-robin turn. A merchant's rank plus what it has in flight
      // must stay within its bound. Rows locked by a concurrent claim are skipped, so a claim may
      // come back short; what it skipped stays claimable for the next one.
      const rows = await this.#db.rows<Record<string, unknown>>(
        `WITH ranked AS (
           SELECT o.id, o.next_attempt_at, p.merchant_id, p.trace_id,
                  ROW_NUMBER() OVER (PARTITION BY p.merchant_id ORDER BY o.next_attempt_at, o.id) AS merchant_rank
             FROM callback_outbox o JOIN payments p ON p.payment_id = o.payment_id
            WHERE o.status = 'pending' AND o.next_attempt_at <= $1 AND (o.lease_until IS NULL OR o.lease_until <= $1)
         ), picked AS (
           SELECT ranked.* FROM ranked LEFT JOIN jsonb_each_text($2::jsonb) AS busy ON busy.key = ranked.merchant_id
            WHERE ranked.merchant_rank + COALESCE(busy.value::bigint, 0) <= $3
            ORDER BY ranked.merchant_rank, ranked.next_attempt_at, ranked.id
            LIMIT $4
         ), locked AS (
           SELECT o.id, picked.merchant_id, picked.trace_id, picked.merchant_rank
             FROM callback_outbox o JOIN picked ON picked.id = o.id
            WHERE o.status = 'pending' AND o.next_attempt_at <= $1 AND (o.lease_until IS NULL OR o.lease_until <= $1)
              FOR UPDATE OF o SKIP LOCKED
         )
         UPDATE callback_outbox o SET lease_owner = $5, lease_until = $6, updated_at = $1
           FROM locked WHERE o.id = locked.id
         RETURNING o.*, locked.merchant_id, locked.trace_id, locked.merchant_rank`,
        [toTs(now), inFlight, perMerchantLimit, Math.max(0, Math.trunc(limit)), owner, toTs(until)],
      );
      // RETURNING has no guaranteed order: put the claim back in turn order.
      return rows
        .map((row) => ({ rank: Number(row['merchant_rank']), entry: pgCallback(row) }))
        .sort(byTurn)
        .map(({ entry }) => ({ ...entry, leaseOwner: owner, leaseUntil: until }));
    });
  }

  markCallbackDelivered(id: number, lease: Lease, attempts: number, httpStatus: number, at: number): Promise<boolean> {
    return this.#settle(
      'markCallbackDelivered',
      id,
      lease,
      `status = 'delivered', attempts = $1, last_http_status = $2, last_error = NULL, updated_at = $3`,
      [attempts, httpStatus, toTs(at)],
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
    return this.#settle(
      'scheduleCallbackRetry',
      id,
      lease,
      'attempts = $1, next_attempt_at = $2, last_error = $3, last_http_status = $4, updated_at = $5',
      [attempts, toTs(nextAttemptAt), error.slice(0, 500), httpStatus, toTs(at)],
    );
  }

  markCallbackFailed(id: number, lease: Lease, attempts: number, error: string, httpStatus: number | null, at: number): Promise<boolean> {
    return this.#settle(
      'markCallbackFailed',
      id,
      lease,
      `status = 'failed', attempts = $1, last_error = $2, last_http_status = $3, updated_at = $4`,
      [attempts, error.slice(0, 500), httpStatus, toTs(at)],
    );
  }

  listCallbacks(paymentId: string): Promise<CallbackEntry[]> {
    return pgOp('listCallbacks', async () => {
      const rows = await this.#db.rows<Record<string, unknown>>(
        `SELECT o.*, p.merchant_id AS merchant_id, p.trace_id AS trace_id FROM callback_outbox o JOIN payments p ON p.payment_id = o.payment_id
          WHERE o.payment_id = $1 ORDER BY o.id`,
        [paymentId],
      );
      return rows.map(pgCallback);
    });
  }
}
