/**
 * The journal: durable record of every terminal transaction the agent took (sales, voids,
 * refunds), written before the server is acknowledged and before any byte reaches the
 * terminal, and updated at every step, so a restart can finish or recover what was in flight.
 *
 * Transactions are keyed by {@link txKey}: the paymentId of a sale, `op:<operationId>` of a
 * void/refund. Implementations: {@link MemoryJournal} (tests; survives reconnects, not restarts)
 * and `SqliteJournal` (sqlite-journal.ts, on disk, the default of `posbridge-agent run`).
 */
import { CodedError } from '@posbridge/protocol/errors';
import { txKey, type Transaction } from './transaction-machine.ts';

/** Storage of {@link Transaction}s by {@link txKey}. Implementations must store copies. */
export interface Journal {
  /**
   * True when what is written survives a restart of the agent process (on disk, like
   * `SqliteJournal`). Only then does a payment missing from the journal prove that this agent
   * never sent it to a terminal (journal first: no byte reaches the terminal before the write).
   */
  readonly durable: boolean;
  /**
   * Inserts a new transaction.
   * @throws CodedError `STORE_FAILED` when its key is already recorded or the write fails.
   */
  put(tx: Transaction): Promise<void>;
  /**
   * Replaces the stored transaction of `txKey(tx)`.
   * @throws CodedError `STORE_FAILED` when it is not recorded or the write fails.
   */
  update(tx: Transaction): Promise<void>;
  /** The transaction of `key` (a paymentId, or `op:<operationId>`), or undefined. */
  get(key: string): Promise<Transaction | undefined>;
  /** Transactions not yet settled with the server: every phase but `reported`, oldest first. */
  listUnreported(): Promise<Transaction[]>;
  /** Releases the storage (closes the database). Idempotent. */
  close?(): Promise<void>;
}

/** In-memory {@link Journal}: survives reconnects, not restarts. */
export class MemoryJournal implements Journal {
  /** @inheritdoc Memory does not survive a restart. */
  readonly durable = false;
  readonly #rows = new Map<string, Transaction>();

  /** @inheritdoc */
  async put(tx: Transaction): Promise<void> {
    const key = txKey(tx);
    if (this.#rows.has(key)) throw new CodedError('STORE_FAILED', `transaction ${key} is already journaled`);
    this.#rows.set(key, structuredClone(tx));
  }

  /** @inheritdoc */
  async update(tx: Transaction): Promise<void> {
    const key = txKey(tx);
    if (!this.#rows.has(key)) throw new CodedError('STORE_FAILED', `transaction ${key} is not journaled`);
    this.#rows.set(key, structuredClone(tx));
  }

  /** @inheritdoc */
  async get(key: string): Promise<Transaction | undefined> {
    const row = this.#rows.get(key);
    return row ? structuredClone(row) : undefined;
  }

  /** @inheritdoc */
  async listUnreported(): Promise<Transaction[]> {
    return [...this.#rows.values()]
      .filter((tx) => tx.phase !== 'reported')
      .sort((a, b) => a.createdAt - b.createdAt)
      .map((tx) => structuredClone(tx));
  }
}
