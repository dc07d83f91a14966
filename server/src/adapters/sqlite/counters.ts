/**
 * {@link CountersPort} on SQLite: the `rate_counters` table (migration 5). A hit is one upsert
 * (`INSERT … ON CONFLICT DO UPDATE … RETURNING`) that keeps a current window and replaces an
 * ended one, so it is atomic on its own; the lazy purge runs in the same transaction.
 *
 * `getCounter` runs on every authenticated PPP call (the failed-authentication limit,
 * ../../http/rate-limit.ts), and nearly always for a key that has no row. A SQLite file is
 * served by one server process (the cluster is PostgreSQL's: docs/deployment.md), and only the
 * server counts, so this adapter knows every key that may have a live row: the rows present at
 * open ({@link SqliteCounters.load}) and every key it hit since. A key outside that set is
 * answered `null` without a read; a key in it is read from the table as before, so a limited
 * key is refused exactly as it was.
 */
import { COUNTER_PURGE_PER_HIT, counterArgsProblem, type CounterWindow, type CountersPort } from '../../ports/counters.ts';
import type { SqliteDb } from './sqlite-db.ts';
import { runExclusive } from './rows.ts';
import { storeError } from '../store-error.ts';

interface CounterRow {
  count: number;
  reset_at: number;
}

function check(key: string, windowMs?: number): void {
  const problem = counterArgsProblem(key, windowMs);
  if (problem !== undefined) throw new RangeError(problem);
}

const PURGE = 'DELETE FROM rate_counters WHERE key IN (SELECT key FROM rate_counters WHERE reset_at <= ? ORDER BY reset_at LIMIT ?)';

/** Counters over one connection. */
export class SqliteCounters implements CountersPort {
  readonly #db: SqliteDb;
  /**
   * Keys that may have a live row, with the end of their window (ms since epoch) as last
   * written here; null until {@link load} ran (every read goes to the table then).
   */
  #known: Map<string, number> | null = null;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  /** Reads the keys with a row, so {@link getCounter} answers every other key from memory. Call once at open. */
  async load(): Promise<void> {
    const rows = await this.#db.exclusive(() => this.#db.all<{ key: string; reset_at: number }>('SELECT key, reset_at FROM rate_counters'));
    this.#known = new Map(rows.map((r) => [r.key, r.reset_at]));
  }

  /** Forgets up to `limit` keys whose window ended by `now` (insertion order), bounding memory as the table's purge does. */
  #forgetEnded(now: number, limit: number): void {
    const known = this.#known;
    if (!known) return;
    let n = 0;
    for (const [key, resetAt] of known) {
      if (n++ >= limit) break;
      if (resetAt <= now) known.delete(key);
    }
  }

  #op<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return runExclusive(this.#db, operation, fn);
  }

  hitCounter(key: string, windowMs: number, now: number): Promise<CounterWindow> {
    return this.#op('hitCounter', () =>
      this.#db.transaction(async () => {
        check(key, windowMs);
        await this.#db.run(PURGE, [now, COUNTER_PURGE_PER_HIT]);
        // `all`: a RETURNING statement is stepped to its end, its one row read.
        const [row] = await this.#db.all<CounterRow>(
          `INSERT INTO rate_counters (key, count, reset_at) VALUES (?, 1, ?)
           ON CONFLICT (key) DO UPDATE SET
             count    = CASE WHEN rate_counters.reset_at > ? THEN rate_counters.count + 1 ELSE 1 END,
             reset_at = CASE WHEN rate_counters.reset_at > ? THEN rate_counters.reset_at ELSE excluded.reset_at END
           RETURNING count, reset_at`,
          [key, now + windowMs, now, now],
        );
        if (!row) throw new Error('upsert returned no row');
        if (this.#known) {
          this.#known.delete(key); // re-inserted last: the sweep below goes oldest first
          this.#known.set(key, row.reset_at);
          this.#forgetEnded(now, COUNTER_PURGE_PER_HIT);
        }
        return { count: row.count, resetAt: row.reset_at };
      }),
    );
  }

  getCounter(key: string, now: number): Promise<CounterWindow | null> {
    // Read on every authenticated PPP call: on the reader connection, not behind the writes (./sqlite-db.ts).
    const read = async (): Promise<CounterWindow | null> => {
      check(key);
      const knownUntil = this.#known?.get(key);
      if (this.#known && (knownUntil === undefined || knownUntil <= now)) return null;
      const [row] = await this.#db.read<CounterRow>('SELECT count, reset_at FROM rate_counters WHERE key = ? AND reset_at > ?', [key, now]);
      return row ? { count: row.count, resetAt: row.reset_at } : null;
    };
    return read().catch((err: unknown) => {
      throw storeError('getCounter', err);
    });
  }

  decrementCounter(key: string, now: number): Promise<void> {
    return this.#op('decrementCounter', async () => {
      check(key);
      await this.#db.run('UPDATE rate_counters SET count = MAX(count - 1, 0) WHERE key = ? AND reset_at > ?', [key, now]);
    });
  }

  resetCounter(key: string): Promise<void> {
    return this.#op('resetCounter', async () => {
      check(key);
      await this.#db.run('DELETE FROM rate_counters WHERE key = ?', [key]);
    });
  }

  purgeExpiredCounters(now: number, limit: number): Promise<number> {
    return this.#op('purgeExpiredCounters', async () => (await this.#db.run(PURGE, [now, limit])).changes);
  }
}
