/**
 * The journal: durable record of every payment the agent took, written before the server is
 * acknowledged and before any byte reaches the terminal, so a restart can finish or recover
 * what was in flight. Issue 2 ships the in-memory implementation; a later issue adds SQLite
 * behind the same interface.
 */
import { CodedError } from '@posbridge/protocol/errors';
import type { Transaction } from './transaction-machine.ts';

/** Storage of {@link Transaction}s by `paymentId`. Implementations must store copies. */
export interface Journal {
  /**
   * Inserts a new transaction.
   * @throws CodedError `STORE_FAILED` when `paymentId` is already recorded or the write fails.
   */
  put(tx: Transaction): Promise<void>;
  /**
   * Replaces the stored transaction of `tx.paymentId`.
   * @throws CodedError `STORE_FAILED` when it is not recorded or the write fails.
   */
  update(tx: Transaction): Promise<void>;
  /** The transaction of `paymentId`, or undefined. */
  get(paymentId: string): Promise<Transaction | undefined>;
  /** Transactions not yet settled with the server: every phase but `reported`, oldest first. */
  listUnreported(): Promise<Transaction[]>;
}

/** In-memory {@link Journal}: survives reconnects, not restarts. */
export class MemoryJournal implements Journal {
  readonly #rows = new Map<string, Transaction>();

  /** @inheritdoc */
  async put(tx: Transaction): Promise<void> {
    if (this.#rows.has(tx.paymentId)) {
      throw new CodedError('STORE_FAILED', `payment ${tx.paymentId} is already journaled`);
    }
    this.#rows.set(tx.paymentId, structuredClone(tx));
  }

  /** @inheritdoc */
  async update(tx: Transaction): Promise<void> {
    if (!this.#rows.has(tx.paymentId)) {
      throw new CodedError('STORE_FAILED', `payment ${tx.paymentId} is not journaled`);
    }
    this.#rows.set(tx.paymentId, structuredClone(tx));
  }

  /** @inheritdoc */
  async get(paymentId: string): Promise<Transaction | undefined> {
    const row = this.#rows.get(paymentId);
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
