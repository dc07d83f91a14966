/**
 * {@link CountersPort} on PostgreSQL: the `rate_counters` table (./schema-shared.ts). A hit is
 * one statement — `INSERT … ON CONFLICT (key) DO UPDATE … RETURNING`, which keeps a current
 * window and replaces an ended one — so concurrent hits on any instance all count (the
 * conflicting row is locked and re-read, `READ COMMITTED`). The lazy purge rides in the same
 * statement and skips rows other transactions hold (`FOR UPDATE SKIP LOCKED`).
 *
 * @see https://www.postgresql.org/docs/15/sql-insert.html#SQL-ON-CONFLICT
 */
import { COUNTER_PURGE_PER_HIT, counterArgsProblem, type CounterWindow, type CountersPort } from '../../ports/counters.ts';
import { fromTs, toTs, type PgDb } from './pg-db.ts';
import { pgOp } from './rows.ts';

interface CounterRow {
  count: number;
  reset_at: Date;
}

function check(key: string, windowMs?: number): void {
  const problem = counterArgsProblem(key, windowMs);
  if (problem !== undefined) throw new RangeError(problem);
}

const windowOf = (row: CounterRow): CounterWindow => ({ count: row.count, resetAt: fromTs(row.reset_at) });

/** The ended windows to remove, at most `$n` of them, never `$key` (its row is the upsert's). */
const ENDED = (now: string, limit: string, except = "''") =>
  `SELECT key FROM rate_counters WHERE reset_at <= ${now} AND key <> ${except} ORDER BY reset_at LIMIT ${limit} FOR UPDATE SKIP LOCKED`;

/** Counters over a pool. */
export class PgCounters implements CountersPort {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  #op<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return pgOp(operation, fn);
  }

  hitCounter(key: string, windowMs: number, now: number): Promise<CounterWindow> {
    return this.#op('hitCounter', async () => {
      check(key, windowMs);
      const row = await this.#db.one<CounterRow>(
        `WITH purged AS (DELETE FROM rate_counters WHERE key IN (${ENDED('$3', String(COUNTER_PURGE_PER_HIT), '$1')}))
         INSERT INTO rate_counters (key, count, reset_at) VALUES ($1, 1, $2)
         ON CONFLICT (key) DO UPDATE SET
           count    = CASE WHEN rate_counters.reset_at > $3 THEN rate_counters.count + 1 ELSE 1 END,
           reset_at = CASE WHEN rate_counters.reset_at > $3 THEN rate_counters.reset_at ELSE EXCLUDED.reset_at END
         RETURNING count, reset_at`,
        [key, toTs(now + windowMs), toTs(now)],
      );
      if (!row) throw new Error('upsert returned no row');
      return windowOf(row);
    });
  }

  getCounter(key: string, now: number): Promise<CounterWindow | null> {
    return this.#op('getCounter', async () => {
      check(key);
      const row = await this.#db.one<CounterRow>('SELECT count, reset_at FROM rate_counters WHERE key = $1 AND reset_at > $2', [key, toTs(now)]);
      return row ? windowOf(row) : null;
    });
  }

  decrementCounter(key: string, now: number): Promise<void> {
    return this.#op('decrementCounter', async () => {
      check(key);
      await this.#db.run('UPDATE rate_counters SET count = GREATEST(count - 1, 0) WHERE key = $1 AND reset_at > $2', [key, toTs(now)]);
    });
  }

  resetCounter(key: string): Promise<void> {
    return this.#op('resetCounter', async () => {
      check(key);
      await this.#db.run('DELETE FROM rate_counters WHERE key = $1', [key]);
    });
  }

  purgeExpiredCounters(now: number, limit: number): Promise<number> {
    return this.#op('purgeExpiredCounters', () => this.#db.run(`DELETE FROM rate_counters WHERE key IN (${ENDED('$1', '$2')})`, [toTs(now), limit]));
  }
}
