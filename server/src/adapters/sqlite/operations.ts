/**
 * {@link OperationsPort} on SQLite: the `operations` table. `recordOperation` takes the write
 * lock first (`BEGIN IMMEDIATE`), then reads the payment and its totals and asks the money rules
 * of ../../domain/operation-limits.ts, so two concurrent requests never both fit in one remainder.
 */
import { applyCommandWrites } from './agent-commands.ts';
import { insertSqliteAudit } from './audit-row.ts';
import {
  authorizedMinor,
  checkOperationLimit,
  operationRefusal,
  operationTotals,
  type CountedOperation,
  type OperationTotals,
} from '../../domain/operation-limits.ts';
import type {
  NewOperation,
  OperationKind,
  OperationOutcomeChange,
  OperationRecord,
  OperationResolution,
  OperationsPort,
  RecordOperationResult,
} from '../../ports/operations.ts';
import type { Payment } from '../../ports/payments.ts';
import type { SqliteDb } from './sqlite-db.ts';
import { readOperation, readPayment, rowToOperation, runExclusive, type OperationRow } from './rows.ts';

/** The operations port over one connection. */
export class SqliteOperations implements OperationsPort {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  #op<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return runExclusive(this.#db, operation, fn);
  }

  #readPayment(paymentId: string): Promise<Payment | null> {
    return readPayment(this.#db, paymentId);
  }

  #readOperation(operationId: string): Promise<OperationRecord | null> {
    return readOperation(this.#db, operationId);
  }

  /** Σ of the payment's operations by the domain rule (no lock of its own). */
  async #totals(paymentId: string): Promise<OperationTotals> {
    const rows = await this.#db.all<{ kind: CountedOperation['kind']; status: CountedOperation['status']; amount_minor: number }>(
      'SELECT kind, status, amount_minor FROM operations WHERE payment_id = ?',
      [paymentId],
    );
    return operationTotals(rows.map((r) => ({ kind: r.kind, status: r.status, amountMinor: r.amount_minor })));
  }

  recordOperation(input: NewOperation): Promise<RecordOperationResult> {
    return this.#op('recordOperation', () =>
      this.#db.transaction(async (): Promise<RecordOperationResult> => {
        const existing = await this.#db.get<OperationRow>(
          'SELECT * FROM operations WHERE payment_id = ? AND kind = ? AND request_id = ?',
          [input.paymentId, input.kind, input.requestId],
        );
        if (existing) return { kind: 'existing', operation: rowToOperation(existing) };
        if (input.kind !== 'cancel') {
          // Locked (BEGIN IMMEDIATE): read the payment and its totals, decide with the domain rule.
          const payment = await this.#readPayment(input.paymentId);
          const totals = await this.#totals(input.paymentId);
          const verdict = checkOperationLimit(
            { kind: input.kind, amountMinor: input.amountMinor },
            payment ? { status: payment.status, authorizedMinor: authorizedMinor(payment) } : null,
            totals,
          );
          if (!verdict.allowed) return operationRefusal(verdict, payment);
          if (input.kind === 'settle') {
            // Serialises with cancellations: a transition computed from the old version fails its CAS.
            await this.#db.run('UPDATE payments SET version = version + 1, updated_at = ? WHERE payment_id = ?', [
              input.at,
              input.paymentId,
            ]);
          }
        }
        await this.#db.run(
          `INSERT INTO operations (operation_id, payment_id, kind, request_id, amount_minor, status, serial_number, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          [
            input.operationId,
            input.paymentId,
            input.kind,
            input.requestId,
            input.amountMinor,
            input.status,
            input.serialNumber ?? null,
            input.at,
            input.at,
          ],
        );
        await applyCommandWrites(this.#db, input.command ? { open: [input.command] } : undefined, input.at);
        const created = await this.#readOperation(input.operationId);
        if (!created) throw new Error('operation vanished after insert');
        return { kind: 'created', operation: created };
      }),
    );
  }

  getOperation(operationId: string): Promise<OperationRecord | null> {
    return this.#op('getOperation', () => this.#readOperation(operationId));
  }

  findOperation(paymentId: string, kind: OperationKind, requestId: string): Promise<OperationRecord | null> {
    return this.#op('findOperation', async () => {
      const row = await this.#db.get<OperationRow>(
        'SELECT * FROM operations WHERE payment_id = ? AND kind = ? AND request_id = ?',
        [paymentId, kind, requestId],
      );
      return row ? rowToOperation(row) : null;
    });
  }

  setOperationOutcome(operationId: string, change: OperationOutcomeChange): Promise<OperationRecord | null> {
    return this.#op('setOperationOutcome', () => this.#db.transaction(async () => {
      const info = await this.#db.run(
        `UPDATE operations SET status = ?, terminal_ref = COALESCE(?, terminal_ref), authorization_id = COALESCE(?, authorization_id),
           nsu = COALESCE(?, nsu), response_code = COALESCE(?, response_code), message = COALESCE(?, message), updated_at = ?
         WHERE operation_id = ? AND status IN ('pending', 'unknown')`,
        [
          change.status,
          change.terminalRef ?? null,
          change.authorizationId ?? null,
          change.nsu ?? null,
          change.responseCode ?? null,
          change.message ?? null,
          change.at,
          operationId,
        ],
      );
      // A final outcome closes the refund's command in the same transaction (an unknown one keeps it open).
      if (info.changes === 1 && change.status !== 'pending' && change.status !== 'unknown') {
        await applyCommandWrites(this.#db, { close: [{ commandId: operationId, reason: change.status }] }, change.at);
      }
      return info.changes === 1 ? this.#readOperation(operationId) : null;
    }));
  }

  resolveUnknownOperation(resolution: OperationResolution): Promise<OperationRecord | null> {
    return this.#op('resolveUnknownOperation', () =>
      this.#db.transaction(async () => {
        const info = await this.#db.run(
          `UPDATE operations SET status = ?, message = ?, updated_at = ? WHERE operation_id = ? AND status = 'unknown'`,
          [resolution.status, resolution.message, resolution.at, resolution.operationId],
        );
        if (info.changes !== 1) return null;
        await applyCommandWrites(this.#db, { close: [{ commandId: resolution.operationId, reason: 'resolved' }] }, resolution.at);
        const op = await this.#readOperation(resolution.operationId);
        if (!op) throw new Error('operation vanished after update');
        const payment = await this.#db.get<{ state: string }>('SELECT state FROM payments WHERE payment_id = ?', [op.paymentId]);
        if (!payment) throw new Error(`payment ${op.paymentId} of operation ${op.operationId} is missing`);
        await this.#db.run(
          `INSERT INTO payment_events (payment_id, type, from_state, to_state, data, at) VALUES (?, 'operation.resolved', ?, ?, ?, ?)`,
          [
            op.paymentId,
            payment.state,
            payment.state,
            JSON.stringify({
              operationId: op.operationId,
              kind: op.kind,
              outcome: resolution.status,
              operator: resolution.operator,
              reason: resolution.reason,
            }),
            resolution.at,
          ],
        );
        if (resolution.audit) await insertSqliteAudit(this.#db, resolution.audit);
        return op;
      }),
    );
  }

  countUnknownOperations(): Promise<number> {
    return this.#op('countUnknownOperations', async () => {
      const row = await this.#db.get<{ n: number }>(`SELECT COUNT(*) AS n FROM operations WHERE status = 'unknown'`);
      return row?.n ?? 0;
    });
  }

  releaseOperation(operationId: string, at: number): Promise<boolean> {
    return this.#op('releaseOperation', () => this.#db.transaction(async () => {
      const info = await this.#db.run(
        `DELETE FROM operations WHERE operation_id = ? AND kind = 'refund' AND status = 'pending' AND answer IS NULL`,
        [operationId],
      );
      if (info.changes === 1) await applyCommandWrites(this.#db, { close: [{ commandId: operationId, reason: 'released' }] }, at);
      return info.changes === 1;
    }));
  }

  setOperationAnswer(operationId: string, httpStatus: number, body: unknown, at: number): Promise<OperationRecord> {
    return this.#op('setOperationAnswer', async () => {
      await this.#db.run(
        'UPDATE operations SET answer_status = ?, answer = ?, updated_at = ? WHERE operation_id = ? AND answer IS NULL',
        [httpStatus, JSON.stringify(body), at, operationId],
      );
      const op = await this.#readOperation(operationId);
      if (!op) throw new Error(`operation ${operationId} does not exist`);
      return op;
    });
  }

  listOpenRefunds(serialNumbers: readonly string[]): Promise<OperationRecord[]> {
    if (serialNumbers.length === 0) return Promise.resolve([]);
    return this.#op('listOpenRefunds', async () => {
      const rows = await this.#db.all<OperationRow>(
        `SELECT * FROM operations WHERE kind = 'refund' AND status IN ('pending', 'unknown')
           AND serial_number IN (${serialNumbers.map(() => '?').join(', ')}) ORDER BY created_at, operation_id`,
        [...serialNumbers],
      );
      return rows.map(rowToOperation);
    });
  }

  operationTotals(paymentId: string): Promise<OperationTotals> {
    return this.#op('operationTotals', () => this.#totals(paymentId));
  }
}
