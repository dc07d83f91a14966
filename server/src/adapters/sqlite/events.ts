/**
 * {@link PaymentEventsPort} on SQLite: reads of the append-only `payment_events` table (written
 * by ./payments.ts and ./operations.ts in their own transactions), and the agents' trace events
 * (`payment_trace_events`, migration 14).
 */
import type { PaymentStatus } from '../../domain/payment-machine.ts';
import type { PaymentEventRecord, PaymentEventsPort, TraceEventBatch, TraceEventRecord } from '../../ports/events.ts';
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

  appendTraceEvents(batch: TraceEventBatch, maxPerPayment: number): Promise<number> {
    return this.#op('appendTraceEvents', () =>
      this.#db.transaction(async () => {
        const held = await this.#db.get<{ n: number }>('SELECT COUNT(*) AS n FROM payment_trace_events WHERE payment_id = ?', [batch.paymentId]);
        const take = batch.events.slice(0, Math.max(0, maxPerPayment - (held?.n ?? 0)));
        for (const e of take) {
          await this.#db.run(
            'INSERT INTO payment_trace_events (payment_id, agent_id, stage, detail, at, received_at) VALUES (?, ?, ?, ?, ?, ?)',
            [batch.paymentId, batch.agentId, e.stage, JSON.stringify(e.detail), e.at, batch.receivedAt],
          );
        }
        return take.length;
      }),
    );
  }

  listTraceEvents(paymentId: string): Promise<TraceEventRecord[]> {
    return this.#op('listTraceEvents', async () => {
      const rows = await this.#db.all<TraceRow>('SELECT * FROM payment_trace_events WHERE payment_id = ? ORDER BY seq', [paymentId]);
      return rows.map(traceEventOf);
    });
  }
}

/** A `payment_trace_events` row (PostgreSQL's through `plain`, ../postgres/rows.ts). */
export interface TraceRow {
  seq: number;
  payment_id: string;
  agent_id: string;
  stage: string;
  detail: string;
  at: number;
  received_at: number;
}

/** The domain trace event of a row. */
export function traceEventOf(r: TraceRow): TraceEventRecord {
  return {
    seq: r.seq,
    paymentId: r.payment_id,
    agentId: r.agent_id,
    stage: r.stage,
    detail: JSON.parse(r.detail) as Record<string, string | number | boolean>,
    at: r.at,
    receivedAt: r.received_at,
  };
}
