/**
 * {@link PaymentsPort} on PostgreSQL. Idempotent create is `INSERT … ON CONFLICT DO NOTHING` on
 * the `payment_id` key (a concurrent second insert waits for the first and then does nothing);
 * a transition is one compare-and-set `UPDATE … WHERE version = $n AND state = $m` (a concurrent
 * second update waits, re-checks the condition on the committed row and matches nothing), with
 * its audit event, callback and agent commands in the same transaction — one statement with
 * data-modifying CTEs, so one round trip (./transition-sql.ts).
 *
 * @see ../sqlite/payments.ts (the same statements on SQLite)
 */
import type { ProgressStage } from '@posbridge/protocol/ws';
import { createdEventData, eventData } from '../../domain/audit-data.ts';
import type { PaymentStatus } from '../../domain/payment-machine.ts';
import { BOOTSTRAP_MERCHANT_ID } from '../../ports/directory.ts';
import type { CreatePaymentResult, NewPayment, Payment, PaymentChange, PaymentsPort } from '../../ports/payments.ts';
import { applyPgCommandWrites } from './agent-commands.ts';
import { insertPgAudit } from './audit-row.ts';
import { toTs, type PgDb } from './pg-db.ts';
import { oneStatementFits, PAYMENT_SET, TRANSITION_SQL, transitionParams } from './transition-sql.ts';
import { insertPgEvent, pgOp, pgPayment, readPgPayment } from './rows.ts';

/** The payments port on the shared pool. */
export class PgPayments implements PaymentsPort {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  createPayment(input: NewPayment): Promise<CreatePaymentResult> {
    return pgOp('createPayment', async () => {
      // The insert and its audit event in one statement (its own transaction): one round trip.
      const row = await this.#db.one<Record<string, unknown>>(
        `WITH ins AS (
           INSERT INTO payments (payment_id, id, transaction_id, order_id, reference, merchant_name, method,
             installments, amount_minor, currency, callback_url, state, version, created_at, changed_at, updated_at,
             merchant_id, deadline_at, test_suite, sandbox, trace_id)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'awaiting_terminal', 0, $12, $12, $12, $13, $14, $15, $17, $18)
           ON CONFLICT DO NOTHING
           RETURNING *
         ), ev AS (
           INSERT INTO payment_events (payment_id, type, from_state, to_state, data, at)
           SELECT ins.payment_id, 'created', NULL, 'awaiting_terminal', $16::text, $12::timestamptz FROM ins
         )
         SELECT * FROM ins`,
        [
          input.paymentId,
          input.id,
          input.transactionId,
          input.orderId,
          input.reference,
          input.merchantName,
          input.method,
          input.installments,
          input.amount.amountMinor,
          input.amount.currency,
          input.callbackUrl,
          toTs(input.createdAt),
          input.merchantId ?? BOOTSTRAP_MERCHANT_ID,
          toTs(input.deadlineAt),
          input.testSuite === true,
          JSON.stringify(createdEventData(input)),
          input.sandbox === true,
          input.traceId ?? null,
        ],
      );
      if (row) return { payment: pgPayment(row), created: true };
      // It existed (or a concurrent create committed it first): the stored payment, as it is now.
      const payment = await readPgPayment(this.#db, input.paymentId);
      if (!payment) throw new Error('payment vanished after insert');
      return { payment, created: false };
    });
  }

  getPayment(paymentId: string): Promise<Payment | null> {
    return pgOp('getPayment', () => readPgPayment(this.#db, paymentId));
  }

  applyTransition(change: PaymentChange): Promise<Payment | null> {
    return pgOp('applyTransition', async () => {
      // An operator's audit row is one more statement: the transaction carries it.
      if (change.audit || !oneStatementFits(change.commands)) return this.#applyInTransaction(change);
      const row = await this.#db.one<Record<string, unknown>>(TRANSITION_SQL, transitionParams(change));
      return row ? pgPayment(row) : null;
    });
  }

  /**
   * The same change as several statements in one `BEGIN … COMMIT`: used when one command id is
   * both opened and closed, or opened twice (one statement may not change a row twice), and when
   * the change carries an admin audit row.
   */
  #applyInTransaction(change: PaymentChange): Promise<Payment | null> {
    return this.#db.transaction(async (tx) => {
      const { next } = change;
      const row = await tx.one<Record<string, unknown>>(
        `UPDATE payments SET ${PAYMENT_SET}
           WHERE payment_id = $20 AND version = $21 AND state = $22
           RETURNING *`,
        transitionParams(change).slice(0, 22),
      );
      if (!row) return null;
      await insertPgEvent(tx, {
        paymentId: change.paymentId,
        type: change.event.type,
        from: change.expectedStatus,
        to: next.status,
        data: eventData(change.event),
        at: change.at,
      });
      if (change.callback) {
        await tx.run(
          `INSERT INTO callback_outbox (payment_id, kind, url, body, status, attempts, next_attempt_at, created_at, updated_at, expires_at)
           VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5, $5, $6)
           ON CONFLICT (payment_id, kind) DO NOTHING`,
          [
            change.paymentId,
            `final:${change.callback.status}`,
            change.callback.url,
            change.callback.body,
            toTs(change.at),
            toTs(change.callback.expiresAt ?? null),
          ],
        );
      }
      await applyPgCommandWrites(tx, change.commands, change.at);
      if (change.audit) await insertPgAudit(tx, change.audit);
      return pgPayment(row);
    });
  }

  setProgressStage(paymentId: string, stage: ProgressStage, at: number): Promise<boolean> {
    return pgOp('setProgressStage', async () => {
      const n = await this.#db.run('UPDATE payments SET progress_stage = $1, updated_at = $2 WHERE payment_id = $3', [
        stage,
        toTs(at),
        paymentId,
      ]);
      return n === 1;
    });
  }

  listBoundPayments(status: PaymentStatus, serialNumbers: readonly string[]): Promise<Payment[]> {
    if (serialNumbers.length === 0) return Promise.resolve([]);
    return pgOp('listBoundPayments', async () => {
      const rows = await this.#db.rows<Record<string, unknown>>(
        `SELECT * FROM payments WHERE state = $1 AND serial_number = ANY($2::text[]) ORDER BY changed_at, payment_id COLLATE "C"`,
        [status, serialNumbers],
      );
      return rows.map(pgPayment);
    });
  }

  claimDuePayments(now: number, limit: number, leaseMs: number, owner: string): Promise<Payment[]> {
    return pgOp('claimDuePayments', async () => {
      // FOR NO KEY UPDATE (the lock an UPDATE of non-key columns takes), not FOR UPDATE: it does
      // not block the foreign-key checks of concurrent inserts referencing the payment (its audit
      // events, callbacks, commands). SKIP LOCKED passes over payments another claim (or a
      // transition) holds right now; the lock re-checks the WHERE on the latest committed row,
      // so a payment another claim leased meanwhile, or that stopped waiting, is skipped too.
      const rows = await this.#db.rows<Record<string, unknown>>(
        `UPDATE payments p SET deadline_lease_owner = $3, deadline_lease_until = $4
           FROM (SELECT payment_id FROM payments
                  WHERE deadline_at IS NOT NULL AND deadline_at <= $1
                    AND state IN ('awaiting_terminal', 'dispatched', 'accepted', 'unknown')
                    AND (deadline_lease_until IS NULL OR deadline_lease_until <= $1)
                  ORDER BY deadline_at, payment_id COLLATE "C" LIMIT $2
                    FOR NO KEY UPDATE SKIP LOCKED) due
          WHERE p.payment_id = due.payment_id
         RETURNING p.*`,
        [toTs(now), Math.max(0, Math.trunc(limit)), owner, toTs(now + leaseMs)],
      );
      // RETURNING has no guaranteed order: by deadline, then paymentId (byte order, as COLLATE "C").
      return rows
        .map(pgPayment)
        .sort((a, b) => (a.deadlineAt ?? 0) - (b.deadlineAt ?? 0) || (a.paymentId < b.paymentId ? -1 : a.paymentId > b.paymentId ? 1 : 0));
    });
  }

  listPaymentsIn(statuses: readonly PaymentStatus[], serialNumbers: readonly string[]): Promise<Payment[]> {
    if (statuses.length === 0 || serialNumbers.length === 0) return Promise.resolve([]);
    return pgOp('listPaymentsIn', async () => {
      const rows = await this.#db.rows<Record<string, unknown>>(
        `SELECT * FROM payments WHERE state = ANY($1::text[]) AND serial_number = ANY($2::text[])
          ORDER BY changed_at, payment_id COLLATE "C"`,
        [statuses, serialNumbers],
      );
      return rows.map(pgPayment);
    });
  }

  countPaymentsByStatus(): Promise<Partial<Record<PaymentStatus, number>>> {
    return pgOp('countPaymentsByStatus', async () => {
      const rows = await this.#db.rows<{ state: string; n: number }>('SELECT state, COUNT(*) AS n FROM payments GROUP BY state');
      return Object.fromEntries(rows.map((r) => [r.state, r.n])) as Partial<Record<PaymentStatus, number>>;
    });
  }
}
