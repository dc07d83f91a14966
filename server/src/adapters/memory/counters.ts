/** {@link CountersPort} in memory: one window per key in the state's `counters` table. */
import { COUNTER_PURGE_PER_HIT, counterArgsProblem, type CounterWindow, type CountersPort } from '../../ports/counters.ts';
import type { CounterRow, MemoryConnection, MemoryTables } from './state.ts';

function check(key: string, windowMs?: number): void {
  const problem = counterArgsProblem(key, windowMs);
  if (problem !== undefined) throw new RangeError(problem);
}

/** Removes at most `limit` windows ended by `now` (inside a transaction). */
function purge(tables: MemoryTables, now: number, limit: number): number {
  const ended: string[] = [];
  for (const row of tables.counters.values()) {
    if (ended.length >= limit) break;
    if (row.resetAt <= now) ended.push(row.key);
  }
  for (const key of ended) tables.counters.delete(key);
  return ended.length;
}

const windowOf = (row: CounterRow): CounterWindow => ({ count: row.count, resetAt: row.resetAt });

/** Counters over a memory connection. */
export class MemoryCounters implements CountersPort {
  readonly #conn: MemoryConnection;

  constructor(conn: MemoryConnection) {
    this.#conn = conn;
  }

  hitCounter(key: string, windowMs: number, now: number): Promise<CounterWindow> {
    return this.#conn.run('hitCounter', () => {
      check(key, windowMs);
      const { counters } = this.#conn.tables;
      const current = counters.get(key);
      let row: CounterRow;
      if (current !== undefined && current.resetAt > now) row = { ...current, count: current.count + 1 };
      else {
        // Only a new window adds a row: that is when the ended ones make room.
        purge(this.#conn.tables, now, COUNTER_PURGE_PER_HIT);
        row = { key, count: 1, resetAt: now + windowMs };
      }
      counters.set(key, row);
      return windowOf(row);
    });
  }

  getCounter(key: string, now: number): Promise<CounterWindow | null> {
    return this.#conn.run('getCounter', () => {
      check(key);
      const row = this.#conn.tables.counters.get(key);
      return row !== undefined && row.resetAt > now ? windowOf(row) : null;
    });
  }

  decrementCounter(key: string, now: number): Promise<void> {
    return this.#conn.run('decrementCounter', () => {
      check(key);
      const { counters } = this.#conn.tables;
      const row = counters.get(key);
      if (row !== undefined && row.resetAt > now) counters.set(key, { ...row, count: Math.max(0, row.count - 1) });
    });
  }

  resetCounter(key: string): Promise<void> {
    return this.#conn.run('resetCounter', () => {
      check(key);
      this.#conn.tables.counters.delete(key);
    });
  }

  purgeExpiredCounters(now: number, limit: number): Promise<number> {
    return this.#conn.run('purgeExpiredCounters', () => purge(this.#conn.tables, now, limit));
  }
}
