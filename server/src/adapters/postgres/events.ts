/**
 * {@link PaymentEventsPort} on PostgreSQL: reads of the append-only `payment_events` table
 * (written by ./payments.ts and ./operations.ts in their own transactions).
 */
import type { PaymentStatus } from '../../domain/payment-machine.ts';
import type { PaymentEventRecord, PaymentEventsPort } from '../../ports/events.ts';
import type { PgDb } from './pg-db.ts';
import { pgOp, plain } from './rows.ts';

/** The payment event log on the shared pool. */
export class PgPaymentEvents implements PaymentEventsPort {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  listPaymentEvents(paymentId: string): Promise<PaymentEventRecord[]> {
    return pgOp('listPaymentEvents', async () => {
      const rows = await this.#db.rows<Record<string, unknown>>('SELECT * FROM payment_events WHERE payment_id = $1 ORDER BY seq', [paymentId]);
      return rows.map((row) => {
        const r = plain<{ seq: number; payment_id: string; type: string; from_state: string | null; to_state: string; data: string; at: number }>(row);
        return {
          seq: r.seq,
          paymentId: r.payment_id,
          type: r.type,
          fromStatus: r.from_state as PaymentStatus | null,
          toStatus: r.to_state as PaymentStatus,
          data: JSON.parse(r.data) as unknown,
          at: r.at,
        };
      });
    });
  }
}
