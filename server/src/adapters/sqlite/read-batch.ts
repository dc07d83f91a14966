/**
 * Batched reads of payments by id on the reader connection (./sqlite-db.ts `read`): the PPP
 * path reads one payment per call, and under load many calls wait for their read at once. One
 * query runs at a time; the ids asked for while it runs go together in the next one
 * (`WHERE payment_id IN (…)`), so N concurrent reads cost one trip to SQLite's thread instead
 * of N. Each read still sees every transaction committed before it was asked for: its query
 * starts after the call.
 *
 * @see docs/performance.md "What limits them" (PPP)
 */
import type { Payment } from '../../ports/payments.ts';
import type { SqliteDb } from './sqlite-db.ts';
import { rowToPayment, type PaymentRow } from './rows.ts';
import { storeError } from '../store-error.ts';

/** Most ids in one query (SQLite's bound parameters are far above; this bounds one answer's size). */
export const MAX_READ_BATCH = 64;

/** The `IN (…)` query for `n` ids (constant text per `n`, so each is prepared once). */
const queries: string[] = [];
function queryFor(n: number): string {
  return (queries[n] ??= `SELECT * FROM payments WHERE payment_id IN (${Array.from({ length: n }, () => '?').join(', ')})`);
}

type Waiter = { resolve(p: Payment | null): void; reject(err: unknown): void };

/** Batches `getPayment` of one store. */
export class PaymentReadBatcher {
  readonly #db: SqliteDb;
  /** Ids asked for since the running query started, with everyone waiting for each. */
  #waiting = new Map<string, Waiter[]>();
  #running = false;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  /** The payment, or null. @throws CodedError `STORE_FAILED`. */
  get(paymentId: string): Promise<Payment | null> {
    return new Promise((resolve, reject) => {
      const list = this.#waiting.get(paymentId);
      if (list) list.push({ resolve, reject });
      else this.#waiting.set(paymentId, [{ resolve, reject }]);
      if (!this.#running) void this.#drain();
    });
  }

  async #drain(): Promise<void> {
    this.#running = true;
    try {
      while (this.#waiting.size > 0) {
        const batch = new Map<string, Waiter[]>();
        for (const [id, list] of this.#waiting) {
          if (batch.size >= MAX_READ_BATCH) break;
          batch.set(id, list);
        }
        for (const id of batch.keys()) this.#waiting.delete(id);
        const ids = [...batch.keys()];
        try {
          const rows = await this.#db.read<PaymentRow>(queryFor(ids.length), ids);
          const found = new Map(rows.map((r) => [r.payment_id, r]));
          for (const [id, list] of batch) {
            const row = found.get(id);
            // One object per caller, as an unbatched read gives.
            for (const w of list) w.resolve(row ? rowToPayment(row) : null);
          }
        } catch (err) {
          const coded = storeError('getPayment', err);
          for (const list of batch.values()) for (const w of list) w.reject(coded);
        }
      }
    } finally {
      this.#running = false;
    }
  }
}
