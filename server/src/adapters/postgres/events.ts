/**
 * {@link PaymentEventsPort} on PostgreSQL: reads of the append-only `payment_events` table
 * (written by ./payments.ts and ./operations.ts in their own transactions), and the agents'
 * trace events (`payment_trace_events`, migration 10).
 */
import type { PaymentStatus } from '../../domain/payment-machine.ts';
import type { PaymentEventRecord, PaymentEventsPort, TraceEventBatch, TraceEventRecord } from '../../ports/events.ts';
import { traceEventOf, type TraceRow } from '../sqlite/events.ts';
import { toTs } from './pg-db.ts';
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

  appendTraceEvents(batch: TraceEventBatch, maxPerPayment: number): Promise<number> {
    return pgOp('appendTraceEvents', () =>
      this.#db.transaction(async (tx) => {
        // The payment row's lock serialises concurrent batches of one payment, so the bound holds.
        await tx.one('SELECT payment_id FROM payments WHERE payment_id = $1 FOR UPDATE', [batch.paymentId]);
        const held = await tx.one<{ n: string | number }>('SELECT COUNT(*) AS n FROM payment_trace_events WHERE payment_id = $1', [batch.paymentId]);
        const take = batch.events.slice(0, Math.max(0, maxPerPayment - Number(held?.n ?? 0)));
        for (const e of take) {
          await tx.run(
            'INSERT INTO payment_trace_events (payment_id, agent_id, stage, detail, at, received_at) VALUES ($1, $2, $3, $4, $5, $6)',
            [batch.paymentId, batch.agentId, e.stage, JSON.stringify(e.detail), toTs(e.at), toTs(batch.receivedAt)],
          );
        }
        return take.length;
      }),
    );
  }

  listTraceEvents(paymentId: string): Promise<TraceEventRecord[]> {
    return pgOp('listTraceEvents', async () => {
      const rows = await this.#db.rows<Record<string, unknown>>('SELECT * FROM payment_trace_events WHERE payment_id = $1 ORDER BY seq', [paymentId]);
      return rows.map((row) => traceEventOf(plain<TraceRow>(row)));
    });
  }
}
