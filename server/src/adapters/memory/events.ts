/**
 * {@link PaymentEventsPort} in memory: reads of the payment event log (written by ./payments.ts
 * and ./operations.ts) and the agents' trace events.
 */
import type { PaymentEventRecord, PaymentEventsPort, TraceEventBatch, TraceEventRecord } from '../../ports/events.ts';
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

  appendTraceEvents(batch: TraceEventBatch, maxPerPayment: number): Promise<number> {
    return this.#conn.run('appendTraceEvents', () => {
      const { traceEvents } = this.#conn.tables;
      let held = 0;
      for (const e of traceEvents.values()) if (e.paymentId === batch.paymentId) held++;
      const take = batch.events.slice(0, Math.max(0, maxPerPayment - held));
      for (const e of take) {
        const seq = this.#conn.state.nextSeq('trace_events');
        traceEvents.set(seq, {
          seq,
          paymentId: batch.paymentId,
          agentId: batch.agentId,
          receivedAt: batch.receivedAt,
          at: e.at,
          stage: e.stage,
          detail: { ...e.detail },
        });
      }
      return take.length;
    });
  }

  listTraceEvents(paymentId: string): Promise<TraceEventRecord[]> {
    return this.#conn.run('listTraceEvents', () =>
      [...this.#conn.tables.traceEvents.values()]
        .filter((e) => e.paymentId === paymentId)
        .sort((a, b) => a.seq - b.seq)
        .map((e) => ({ ...e, detail: { ...e.detail } })),
    );
  }
}
