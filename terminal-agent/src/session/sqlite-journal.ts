/**
 * The on-disk {@link Journal}: one SQLite file next to the agent (`journalPath`).
 *
 * - `transactions`: one row per transaction, `phase` column + the full state as JSON;
 * - `transaction_events`: append-only history (every write), for audits and post-mortems.
 *
 * Each write is one SQLite transaction in WAL mode with `synchronous=FULL`, so once `put` or
 * `update` resolves the step survives a SIGKILL of the agent and a power cut. Card data never
 * gets here beyond brand, first 6 and last 4.
 *
 * `sqlite3` is a native module: it is imported lazily, here only.
 */
import { CodedError } from '@posbridge/protocol/errors';
import { SerialQueue } from '@posbridge/kit/serial-queue';
import type { Journal } from './journal.ts';
import { txKey, type Transaction } from './transaction-machine.ts';

type Db = import('sqlite3').Database;

const SCHEMA = [
  'PRAGMA journal_mode = WAL',
  'PRAGMA synchronous = FULL',
  'PRAGMA busy_timeout = 5000',
  `CREATE TABLE IF NOT EXISTS transactions (
     key TEXT PRIMARY KEY,
     payment_id TEXT NOT NULL,
     kind TEXT NOT NULL,
     phase TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL,
     state TEXT NOT NULL)`,
  'CREATE INDEX IF NOT EXISTS transactions_phase ON transactions (phase, created_at)',
  `CREATE TABLE IF NOT EXISTS transaction_events (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     key TEXT NOT NULL,
     phase TEXT NOT NULL,
     at INTEGER NOT NULL,
     state TEXT NOT NULL)`,
];

/** SQLite implementation of {@link Journal}. Create with {@link SqliteJournal.open}. */
export class SqliteJournal implements Journal {
  readonly #db: Db;
  readonly path: string;
  /** @inheritdoc Every write is committed with `synchronous=FULL`. */
  readonly durable = true;
  readonly #lock = new SerialQueue();
  #closed = false;

  private constructor(db: Db, path: string) {
    this.#db = db;
    this.path = path;
  }

  /**
   * Opens (creating if needed) the journal file.
   * @throws CodedError `STORE_FAILED` when sqlite3 cannot load or the file cannot be opened.
   */
  static async open(path: string): Promise<SqliteJournal> {
    let sqlite3: typeof import('sqlite3');
    try {
      const mod = (await import('sqlite3')) as typeof import('sqlite3') & { default?: typeof import('sqlite3') };
      sqlite3 = mod.default ?? mod;
    } catch (err) {
      throw new CodedError('STORE_FAILED', 'the sqlite3 native module could not be loaded', { cause: err });
    }
    const db = await new Promise<Db>((resolve, reject) => {
      const d: Db = new sqlite3.Database(path, (err) =>
        err ? reject(new CodedError('STORE_FAILED', `could not open journal ${path}: ${err.message}`, { cause: err })) : resolve(d),
      );
    });
    const journal = new SqliteJournal(db, path);
    for (const sql of SCHEMA) await journal.#run(sql, []);
    return journal;
  }

  #run(sql: string, params: unknown[]): Promise<number> {
    return new Promise((resolve, reject) => {
      this.#db.run(sql, params, function (err) {
        if (err) reject(err);
        else resolve(this.changes);
      });
    });
  }

  #all<T>(sql: string, params: unknown[]): Promise<T[]> {
    return new Promise((resolve, reject) => {
      this.#db.all(sql, params, (err, rows) => (err ? reject(err) : resolve(rows as T[])));
    });
  }

  /** One statement group at a time on the single connection. */
  #exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#lock.run(fn);
  }

  async #write(tx: Transaction, insert: boolean): Promise<void> {
    if (this.#closed) throw new CodedError('STORE_FAILED', 'journal is closed');
    const key = txKey(tx);
    const state = JSON.stringify(tx);
    await this.#exclusive(async () => {
      await this.#run('BEGIN IMMEDIATE', []);
      try {
        if (insert) {
          await this.#run(
            'INSERT INTO transactions (key, payment_id, kind, phase, created_at, updated_at, state) VALUES (?, ?, ?, ?, ?, ?, ?)',
            [key, tx.paymentId, tx.kind ?? 'sale', tx.phase, tx.createdAt, tx.updatedAt, state],
          );
        } else {
          const changed = await this.#run('UPDATE transactions SET phase = ?, updated_at = ?, state = ? WHERE key = ?', [
            tx.phase,
            tx.updatedAt,
            state,
            key,
          ]);
          if (changed !== 1) throw new CodedError('STORE_FAILED', `transaction ${key} is not journaled`);
        }
        await this.#run('INSERT INTO transaction_events (key, phase, at, state) VALUES (?, ?, ?, ?)', [key, tx.phase, tx.updatedAt, state]);
        await this.#run('COMMIT', []);
      } catch (err) {
        await this.#run('ROLLBACK', []).catch(() => undefined);
        if ((err as { code?: unknown }).code === 'STORE_FAILED') throw err;
        throw new CodedError('STORE_FAILED', `journal write of ${key} failed: ${(err as Error).message}`, { cause: err });
      }
    });
  }

  /** @inheritdoc */
  put(tx: Transaction): Promise<void> {
    return this.#write(tx, true);
  }

  /** @inheritdoc */
  update(tx: Transaction): Promise<void> {
    return this.#write(tx, false);
  }

  /** @inheritdoc */
  async get(key: string): Promise<Transaction | undefined> {
    const rows = await this.#exclusive(() => this.#all<{ state: string }>('SELECT state FROM transactions WHERE key = ?', [key]));
    return rows[0] ? (JSON.parse(rows[0].state) as Transaction) : undefined;
  }

  /** @inheritdoc */
  async listUnreported(): Promise<Transaction[]> {
    const rows = await this.#exclusive(() =>
      this.#all<{ state: string }>("SELECT state FROM transactions WHERE phase <> 'reported' ORDER BY created_at, key", []),
    );
    return rows.map((r) => JSON.parse(r.state) as Transaction);
  }

  /** Every journaled step of `key`, oldest first (audit trail). */
  async history(key: string): Promise<{ phase: string; at: number }[]> {
    return this.#exclusive(() => this.#all<{ phase: string; at: number }>('SELECT phase, at FROM transaction_events WHERE key = ? ORDER BY seq', [key]));
  }

  /** @inheritdoc */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#lock.idle();
    await new Promise<void>((resolve) => this.#db.close(() => resolve()));
  }
}
