/**
 * The PostgreSQL connection pool every PostgreSQL adapter of the server shares (the `pg`
 * package), with the few rules they all follow:
 *
 * - **Transactions** run on one pooled client: {@link PgDb.transaction} is `BEGIN … COMMIT`
 *   (`READ COMMITTED`; adapters take row locks with `SELECT … FOR UPDATE` or write with
 *   compare-and-set `UPDATE … WHERE version = $n`), rolled back when the callback throws, and
 *   retried (at most {@link TX_RETRIES} times) on a serialization failure or deadlock
 *   (SQLSTATE `40001`, `40P01`).
 * - **Numbers**: `bigint` (int8) columns — money in minor units, ids, counters — come back as
 *   JavaScript numbers and are refused beyond `Number.MAX_SAFE_INTEGER` (no silent rounding).
 *   `numeric` is never used.
 * - **Time**: columns are `timestamptz`; the ports speak ms since epoch. {@link toTs} and
 *   {@link fromTs} convert (PostgreSQL keeps microseconds, so a millisecond round-trips exactly).
 * - **Bounded waits**: connecting waits at most `connectTimeoutMs`, a statement at most
 *   `statementTimeoutMs` (server-side `statement_timeout`), so a PostgreSQL outage turns into a
 *   prompt `STORE_FAILED` (the PPP edge answers a retryable 503) instead of a hung request.
 *
 * @see https://node-postgres.com/apis/pool, https://www.postgresql.org/docs/15/explicit-locking.html
 */
import pg from 'pg';

/** Parameter values the adapters bind. */
export type PgParam = string | number | boolean | Date | null | readonly (string | null)[] | readonly number[];

/** What a statement runs on: the pool, or the client of a transaction. */
export interface PgQueryable {
  /** All rows of a statement. */
  rows<T>(sql: string, params?: readonly PgParam[]): Promise<T[]>;
  /** The first row, or undefined. */
  one<T>(sql: string, params?: readonly PgParam[]): Promise<T | undefined>;
  /** Runs a statement. @returns the number of rows it affected. */
  run(sql: string, params?: readonly PgParam[]): Promise<number>;
}

/** Options of {@link PgDb.open}. */
export interface PgDbOptions {
  /** `postgres://user:pass@host:port/db` (libpq URL; `?sslmode=…` honoured by `pg`). */
  readonly connectionString: string;
  /** Most pooled connections. @default 10 */
  readonly maxConnections?: number;
  /** Longest wait for a connection (new or from the pool), ms. @default 2000 */
  readonly connectTimeoutMs?: number;
  /** Server-side `statement_timeout`, ms. @default 3000 */
  readonly statementTimeoutMs?: number;
  /** Called with pool-level errors of idle clients (a restarted server); never throws. */
  readonly onError?: (err: Error) => void;
}

/** How often a transaction is retried after a serialization failure or deadlock. */
export const TX_RETRIES = 3;

const SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** int8 text → number, refusing what a number cannot hold exactly. */
function parseInt8(text: string): number {
  const value = BigInt(text);
  if (value > SAFE || value < -SAFE) throw new RangeError(`int8 value ${text} is beyond Number.MAX_SAFE_INTEGER`);
  return Number(value);
}

/** Type parsers of this pool only (the process-wide `pg.types` stay untouched). */
const TYPES = {
  getTypeParser(oid: number, format?: string): (value: string) => unknown {
    if (oid === pg.types.builtins.INT8) return parseInt8;
    return pg.types.getTypeParser(oid, format as 'text');
  },
} as pg.CustomTypesConfig;

/** ms since epoch → a `timestamptz` parameter (null stays null). */
export function toTs(ms: number | null | undefined): Date | null {
  return ms === null || ms === undefined ? null : new Date(ms);
}

/** A `timestamptz` column → ms since epoch. */
export function fromTs(value: Date): number;
export function fromTs(value: Date | null): number | null;
export function fromTs(value: Date | null): number | null {
  return value === null ? null : value.getTime();
}

/** SQLSTATEs after which a transaction is retried. */
const RETRYABLE = new Set(['40001', '40P01']);

function queryable(client: pg.Pool | pg.PoolClient): PgQueryable {
  return {
    async rows<T>(sql: string, params: readonly PgParam[] = []) {
      return (await client.query(sql, params as unknown[])).rows as T[];
    },
    async one<T>(sql: string, params: readonly PgParam[] = []) {
      return (await client.query(sql, params as unknown[])).rows[0] as T | undefined;
    },
    async run(sql: string, params: readonly PgParam[] = []) {
      return (await client.query(sql, params as unknown[])).rowCount ?? 0;
    },
  };
}

/** A pool of connections to one PostgreSQL database. */
export class PgDb implements PgQueryable {
  readonly #pool: pg.Pool;
  readonly #q: PgQueryable;
  #closed = false;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
    this.#q = queryable(pool);
  }

  /** Creates the pool (connections open lazily; call {@link ping} to check the server). */
  static open(options: PgDbOptions): PgDb {
    const pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 2000,
      statement_timeout: options.statementTimeoutMs ?? 3000,
      idleTimeoutMillis: 30_000,
      types: TYPES,
      application_name: 'posbridge-server',
    });
    // An idle client's error (the server restarted) must not crash the process: the pool drops it.
    pool.on('error', (err) => options.onError?.(err));
    return new PgDb(pool);
  }

  rows<T>(sql: string, params?: readonly PgParam[]): Promise<T[]> {
    return this.#q.rows<T>(sql, params);
  }

  one<T>(sql: string, params?: readonly PgParam[]): Promise<T | undefined> {
    return this.#q.one<T>(sql, params);
  }

  run(sql: string, params?: readonly PgParam[]): Promise<number> {
    return this.#q.run(sql, params);
  }

  /** `SELECT 1` on a pooled connection. @throws the driver error when the server cannot be reached. */
  async ping(): Promise<void> {
    await this.#pool.query('SELECT 1');
  }

  /**
   * Runs `fn` in one transaction on one client: committed when it resolves, rolled back when it
   * throws (the error is rethrown). Retried from the start on a serialization failure or
   * deadlock, so `fn` must have no effects outside the database.
   */
  async transaction<T>(fn: (tx: PgQueryable) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      const client = await this.#pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const value = await fn(queryable(client));
        await client.query('COMMIT');
        return value;
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          broken = true; // the connection is gone: do not return it to the pool
        }
        const code = (err as { code?: unknown }).code;
        if (typeof code === 'string' && RETRYABLE.has(code) && attempt < TX_RETRIES) continue;
        throw err;
      } finally {
        client.release(broken);
      }
    }
  }

  /**
   * Runs `fn` on one client while holding the session-level advisory lock `key`
   * (`pg_advisory_lock`): concurrent callers on any process wait their turn. Used by migrations.
   * With `statementTimeoutMs`, that client's `statement_timeout` (the wait for the lock included)
   * is that many ms instead of the pool's until the lock is released (a migration may take longer
   * than a request's statement).
   */
  async withAdvisoryLock<T>(key: number, fn: (client: PgQueryable) => Promise<T>, options: { statementTimeoutMs?: number } = {}): Promise<T> {
    const client = await this.#pool.connect();
    let broken = false;
    try {
      if (options.statementTimeoutMs !== undefined) {
        await client.query(`SET statement_timeout = ${Math.max(0, Math.trunc(options.statementTimeoutMs))}`);
      }
      try {
        await client.query('SELECT pg_advisory_lock($1)', [key]);
        try {
          return await fn(queryable(client));
        } finally {
          await client.query('SELECT pg_advisory_unlock($1)', [key]).catch(() => {
            broken = true;
          });
        }
      } finally {
        if (options.statementTimeoutMs !== undefined && !broken) {
          await client.query('RESET statement_timeout').catch(() => {
            broken = true;
          });
        }
      }
    } finally {
      client.release(broken);
    }
  }

  /** Ends every pooled connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pool.end();
  }
}
