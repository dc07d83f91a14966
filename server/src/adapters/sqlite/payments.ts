/**
 * {@link PaymentsPort} on SQLite. Idempotent create is `INSERT OR IGNORE` on the `payment_id`
 * primary key, group-committed (./create-batch.ts); reads by id are batched (./read-batch.ts); a transition is an `UPDATE … WHERE version = ? AND state = ?` with its audit event
 * and callback in the same `BEGIN IMMEDIATE` transaction.
 */
import { paymentSetParams } from '../payment-set-params.ts';
import { applyCommandWrites } from './agent-commands.ts';
import { insertSqliteAudit } from './audit-row.ts';
import { CreateBatcher } from './create-batch.ts';
import { PaymentReadBatcher } from './read-batch.ts';
import type { ProgressStage } from '@posbridge/protocol/ws';
import { eventData } from '../../domain/audit-data.ts';
import type { PaymentStatus } from '../../domain/payment-machine.ts';
import type { CreatePaymentResult, NewPayment, Payment, PaymentChange, PaymentsPort } from '../../ports/payments.ts';
import type { SqliteDb, SqlParam } from './sqlite-db.ts';
import { readCommitted, rowToPayment, runExclusive, type PaymentRow } from './rows.ts';

/** The payments port over one connection (see ./sqlite-db.ts for its lock). */
export class SqlitePayments implements PaymentsPort {
  readonly #db: SqliteDb;
  readonly #creates: CreateBatcher;
  readonly #reads: PaymentReadBatcher;

  constructor(db: SqliteDb) {
    this.#db = db;
    this.#creates = new CreateBatcher(db);
    this.#reads = new PaymentReadBatcher(db);
  }

  #op<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return runExclusive(this.#db, operation, fn);
  }

  createPayment(input: NewPayment): Promise<CreatePaymentResult> {
    // Group commit: creates waiting for the lock share one transaction (./create-batch.ts).
    return this.#creates.create(input);
  }

  getPayment(paymentId: string): Promise<Payment | null> {
    // The hot read of every PPP call: batched on the reader connection, not behind the writes (./read-batch.ts).
    return this.#reads.get(paymentId);
  }

  applyTransition(change: PaymentChange): Promise<Payment | null> {
    return this.#op('applyTransition', () =>
      this.#db.transaction(async () => {
        const { next } = change;
        const params: SqlParam[] = paymentSetParams(change, (ms) => ms);
        // The compare-and-set answers the changed row itself (RETURNING): nothing later in this
        // transaction writes the payment row, so it is the committed one.
        const [row] = await this.#db.cachedAll<PaymentRow>(
          `UPDATE payments SET state = ?, serial_number = ?, agent_id = ?, start_id = ?,
             outcome = ?, terminal_ref = ?, authorization_id = ?, nsu = ?, result_tid = ?, response_code = ?,
             result_message = ?, card_brand = ?, card_first_digits = ?, card_last_digits = ?, result_amount_minor = ?,
             end_reason = ?, deadline_at = ?, changed_at = ?, updated_at = ?, version = version + 1
           WHERE payment_id = ? AND version = ? AND state = ?
           RETURNING *`,
          params,
        );
        if (!row) return null;
        await this.#db.cachedRun(
          `INSERT INTO payment_events (payment_id, type, from_state, to_state, data, at) VALUES (?, ?, ?, ?, ?, ?)`,
          [
            change.paymentId,
            change.event.type,
            change.expectedStatus,
            next.status,
            JSON.stringify(eventData(change.event)),
            change.at,
          ],
        );
        if (change.callback) {
          await this.#db.cachedRun(
            `INSERT OR IGNORE INTO callback_outbox (payment_id, kind, url, body, status, attempts, next_attempt_at, created_at, updated_at, expires_at)
             VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)`,
            [
              change.paymentId,
              `final:${change.callback.status}`,
              change.callback.url,
              change.callback.body,
              change.at,
              change.at,
              change.at,
              change.callback.expiresAt ?? null,
            ],
          );
        }
        await applyCommandWrites(this.#db, change.commands, change.at);
        if (change.audit) await insertSqliteAudit(this.#db, change.audit);
        return rowToPayment(row);
      }),
    );
  }

  setProgressStage(paymentId: string, stage: ProgressStage, at: number): Promise<boolean> {
    return this.#op('setProgressStage', async () => {
      const info = await this.#db.cachedRun('UPDATE payments SET progress_stage = ?, updated_at = ? WHERE payment_id = ?', [
        stage,
        at,
        paymentId,
      ]);
      return info.changes === 1;
    });
  }

  listBoundPayments(status: PaymentStatus, serialNumbers: readonly string[]): Promise<Payment[]> {
    if (serialNumbers.length === 0) return Promise.resolve([]);
    return this.#op('listBoundPayments', async () => {
      const marks = serialNumbers.map(() => '?').join(', ');
      const rows = await this.#db.all<PaymentRow>(
        `SELECT * FROM payments WHERE state = ? AND serial_number IN (${marks}) ORDER BY changed_at, payment_id`,
        [status, ...serialNumbers],
      );
      return rows.map(rowToPayment);
    });
  }

  async claimDuePayments(now: number, limit: number, leaseMs: number, owner: string): Promise<Payment[]> {
    // The worker's idle ticks look on the reader connection first and take no write lock; a
    // deadline passed just after that look is claimed on the next tick.
    const due = await readCommitted(
      this.#db,
      'claimDuePayments',
      `SELECT 1 FROM payments WHERE deadline_at IS NOT NULL AND deadline_at <= ?
         AND state IN ('awaiting_terminal', 'dispatched', 'accepted', 'unknown')
         AND (deadline_lease_until IS NULL OR deadline_lease_until <= ?) LIMIT 1`,
      [now, now],
    );
    if (due.length === 0) return [];
    return this.#op('claimDuePayments', () =>
      this.#db.transaction(async () => {
        const rows = await this.#db.all<PaymentRow>(
          `SELECT * FROM payments WHERE deadline_at IS NOT NULL AND deadline_at <= ?
             AND state IN ('awaiting_terminal', 'dispatched', 'accepted', 'unknown')
             AND (deadline_lease_until IS NULL OR deadline_lease_until <= ?)
           ORDER BY deadline_at, payment_id LIMIT ?`,
          [now, now, limit],
        );
        for (const r of rows) {
          await this.#db.run('UPDATE payments SET deadline_lease_owner = ?, deadline_lease_until = ? WHERE payment_id = ?', [
            owner,
            now + leaseMs,
            r.payment_id,
          ]);
        }
        return rows.map(rowToPayment);
      }),
    );
  }

  listPaymentsIn(statuses: readonly PaymentStatus[], serialNumbers: readonly string[]): Promise<Payment[]> {
    if (statuses.length === 0 || serialNumbers.length === 0) return Promise.resolve([]);
    return this.#op('listPaymentsIn', async () => {
      const rows = await this.#db.all<PaymentRow>(
        `SELECT * FROM payments WHERE state IN (${statuses.map(() => '?').join(', ')})
           AND serial_number IN (${serialNumbers.map(() => '?').join(', ')}) ORDER BY changed_at, payment_id`,
        [...statuses, ...serialNumbers],
      );
      return rows.map(rowToPayment);
    });
  }

  countPaymentsByStatus(): Promise<Partial<Record<PaymentStatus, number>>> {
    return this.#op('countPaymentsByStatus', async () => {
      const rows = await this.#db.all<{ state: string; n: number }>('SELECT state, COUNT(*) AS n FROM payments GROUP BY state');
      return Object.fromEntries(rows.map((r) => [r.state, r.n])) as Partial<Record<PaymentStatus, number>>;
    });
  }
}
