/**
 * Small promise wrappers around the `sqlite3` callback API, plus a FIFO lock.
 *
 * One `sqlite3.Database` is one connection: statements from two concurrent async operations
 * would interleave inside each other's `BEGIN … COMMIT`. {@link SqliteDb.exclusive} therefore
 * runs every store operation one at a time.
 *
 * Hot reads (the PPP path: a payment by id, a merchant by appKey, a rate counter) may go through
 * {@link SqliteDb.read} instead: on a file database it runs them on a second, read-only
 * connection without the lock, so they never queue behind writes. In WAL mode that connection
 * sees every transaction committed before the read started (a committed write is answered only
 * after its COMMIT, so a caller always reads its own writes), never a half-done one.
 * Statements run through {@link SqliteDb.cachedAll}/{@link SqliteDb.cachedRun} are prepared once
 * and reused.
 *
 * @see https://www.sqlite.org/wal.html "Concurrency"
 */
import { chmodSync, closeSync, openSync, statSync } from 'node:fs';
import sqlite3 from 'sqlite3';
import { SerialQueue } from '@posbridge/kit/serial-queue';

/** Creates `filename` 0600 if missing; makes it and its WAL/SHM files owner-only if they are not. */
function ownerOnly(filename: string): void {
  closeSync(openSync(filename, 'a', 0o600));
  for (const path of [filename, `${filename}-wal`, `${filename}-shm`]) {
    try {
      if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    } catch (err) {
      // A WAL/SHM file that does not exist (yet) is fine; anything else is the operator's to fix.
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
  }
}

/** Values SQLite accepts as bound parameters. */
export type SqlParam = string | number | bigint | null | Buffer;

/** Result of a write statement. */
export interface RunInfo {
  /** Rows changed by the statement. */
  changes: number;
  /** Rowid of the last inserted row. */
  lastId: number;
}

/** A promisified sqlite3 connection. */
export class SqliteDb {
  readonly #db: sqlite3.Database;
  readonly #queue = new SerialQueue();
  /** Prepared statements by SQL text (a bounded set: only constant SQL of the hot path). */
  readonly #statements = new Map<string, sqlite3.Statement>();
  /** The read-only connection of {@link read}, when one is attached. */
  #reader: SqliteDb | null = null;

  private constructor(db: sqlite3.Database) {
    this.#db = db;
  }

  /**
   * Attaches a second, read-only (`PRAGMA query_only`) connection on the same file for
   * {@link read}. Only for a file database in WAL mode (`:memory:` would be another database).
   * @throws the sqlite3 error when it cannot be opened.
   */
  async attachReader(filename: string, busyTimeoutMs: number): Promise<void> {
    const reader = await SqliteDb.open(filename);
    reader.setBusyTimeout(busyTimeoutMs);
    await reader.exec('PRAGMA query_only = ON');
    this.#reader = reader;
  }

  /**
   * All rows of a read-only query, on the reader connection without the lock when one is
   * attached, else inside {@link exclusive}. Only for a statement that reads committed state
   * on its own (never inside a transaction of the caller's).
   */
  read<T>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    const reader = this.#reader;
    if (reader) return reader.cachedAll<T>(sql, params);
    return this.exclusive(() => this.cachedAll<T>(sql, params));
  }

  /**
   * {@link read} for SQL whose text varies (an `IN (?, …)` list of the caller's length): run on
   * the reader connection without being kept prepared.
   */
  readVarying<T>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    const reader = this.#reader;
    if (reader) return reader.all<T>(sql, params);
    return this.exclusive(() => this.all<T>(sql, params));
  }

  #statement(sql: string): sqlite3.Statement {
    let st = this.#statements.get(sql);
    if (!st) {
      st = this.#db.prepare(sql);
      this.#statements.set(sql, st);
    }
    return st;
  }

  /**
   * All rows of `sql` through a statement prepared once (`all` steps it to its end and resets
   * it, so no read transaction stays open). `sql` must be constant text, never built from input.
   */
  cachedAll<T>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    return new Promise((resolve, reject) => {
      this.#statement(sql).all<T>(params, (err: Error | null, rows: T[]) => {
        if (err) reject(err);
        else resolve(rows);
      });
    });
  }

  /** {@link run} through a statement prepared once; `sql` must be constant text. */
  cachedRun(sql: string, params: readonly SqlParam[] = []): Promise<RunInfo> {
    return new Promise((resolve, reject) => {
      this.#statement(sql).run(params, function (this: sqlite3.RunResult, err: Error | null) {
        if (err) reject(err);
        else resolve({ changes: this.changes, lastId: this.lastID });
      });
    });
  }

  #finalizeStatements(): Promise<void> {
    const all = [...this.#statements.values()];
    this.#statements.clear();
    return Promise.all(all.map((st) => new Promise<void>((resolve) => st.finalize(() => resolve())))).then(() => undefined);
  }

  /**
   * Opens (creating if needed) the database file. A file path is created 0600 (owner only: the
   * database holds merchant and payment data) and an existing file readable by others is
   * tightened to 0600, with its `-wal`/`-shm` files; SQLite creates those with the database
   * file's mode. `:memory:`, `""` and `file:` URIs are opened as given.
   * @throws the file-system error when the file cannot be created, the sqlite3 error when it cannot be opened.
   */
  static open(filename: string): Promise<SqliteDb> {
    if (filename !== '' && filename !== ':memory:' && !filename.startsWith('file:')) ownerOnly(filename);
    return new Promise((resolve, reject) => {
      const db = new sqlite3.Database(filename, (err) => {
        if (err) reject(err);
        else resolve(new SqliteDb(db));
      });
    });
  }

  /** Runs a write statement. */
  run(sql: string, params: readonly SqlParam[] = []): Promise<RunInfo> {
    return new Promise((resolve, reject) => {
      this.#db.run(sql, params, function (this: sqlite3.RunResult, err: Error | null) {
        if (err) reject(err);
        else resolve({ changes: this.changes, lastId: this.lastID });
      });
    });
  }

  /** First row of a query, or undefined. */
  get<T>(sql: string, params: readonly SqlParam[] = []): Promise<T | undefined> {
    return new Promise((resolve, reject) => {
      this.#db.get<T>(sql, params, (err: Error | null, row: T | undefined) => {
        if (err) reject(err);
        else resolve(row);
      });
    });
  }

  /** All rows of a query. */
  all<T>(sql: string, params: readonly SqlParam[] = []): Promise<T[]> {
    return new Promise((resolve, reject) => {
      this.#db.all<T>(sql, params, (err: Error | null, rows: T[]) => {
        if (err) reject(err);
        else resolve(rows);
      });
    });
  }

  /** Runs one or more statements without parameters. */
  exec(sql: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#db.exec(sql, (err: Error | null) => {
        if (err) reject(err);
        else resolve();
      });
    });
  }

  /** Sets sqlite3's busy timeout in ms. */
  setBusyTimeout(ms: number): void {
    this.#db.configure('busyTimeout', ms);
  }

  /** Runs `fn` after every previously queued operation finished (FIFO mutual exclusion). */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#queue.run(fn);
  }

  /** Runs `fn` inside `BEGIN IMMEDIATE … COMMIT` (rolled back if it throws). Call inside {@link exclusive}. */
  async transaction<T>(fn: () => Promise<T>): Promise<T> {
    await this.exec('BEGIN IMMEDIATE');
    try {
      const value = await fn();
      await this.exec('COMMIT');
      return value;
    } catch (err) {
      await this.exec('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /** Closes the connection and its reader (after queued operations). */
  async close(): Promise<void> {
    const reader = this.#reader;
    this.#reader = null;
    await reader?.close();
    return this.exclusive(
      async () => {
        await this.#finalizeStatements();
        return new Promise<void>((resolve, reject) => {
          this.#db.close((err) => {
            if (err) reject(err);
            else resolve();
          });
        });
      },
    );
  }
}
