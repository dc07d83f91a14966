/**
 * {@link PaymentEventsPort} on SQLite: reads of the append-only `payment_events` table (written
 * by ./payments.ts and ./operations.ts in their own transactions).
 */
import type { PaymentStatus } from '../../domain/payment-machine.ts';
import type { PaymentEventRecord, PaymentEventsPort } from '../../ports/events.ts';
import type { SqliteDb } from './sqlite-db.ts';
import { runExclusive } from './rows.ts';

/** The payment event log over one connection. */
export class SqlitePaymentEvents implements PaymentEventsPort {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  #op<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return runExclusive(this.#db, operation, fn);
  }

  listPaymentEvents(paymentId: string): Promise<PaymentEventRecord[]> {
    return this.#op('listPaymentEvents', async () => {
      const rows = await this.#db.all<{
        seq: number;
        payment_id: string;
        type: string;
        from_state: string | null;
        to_state: string;
        data: string;
        at: number;
      }>('SELECT * FROM payment_events WHERE payment_id = ? ORDER BY seq', [paymentId]);
      return rows.map((r) => ({
        seq: r.seq,
        paymentId: r.payment_id,
        type: r.type,
        fromStatus: r.from_state as PaymentStatus | null,
        toStatus: r.to_state as PaymentStatus,
        data: JSON.parse(r.data) as unknown,
        at: r.at,
      }));
    });
  }
}
