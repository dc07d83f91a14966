/** {@link PaymentEventsPort} in memory: reads of the payment event log (written by ./payments.ts and ./operations.ts). */
import type { PaymentEventRecord, PaymentEventsPort } from '../../ports/events.ts';
import type { MemoryConnection } from './state.ts';

/** The payment event log over a memory connection. */
export class MemoryPaymentEvents implements PaymentEventsPort {
  readonly #conn: MemoryConnection;

  constructor(conn: MemoryConnection) {
    this.#conn = conn;
  }

  listPaymentEvents(paymentId: string): Promise<PaymentEventRecord[]> {
    return this.#conn.run('listPaymentEvents', () =>
      [...this.#conn.tables.paymentEvents.values()]
        .filter((e) => e.paymentId === paymentId)
        .sort((a, b) => a.seq - b.seq)
        .map((e) => ({ ...e, data: JSON.parse(e.data) as unknown })),
    );
  }
}
