/**
 * {@link OperationsPort} on PostgreSQL: the `operations` table. `recordOperation` locks the
 * payment row first (`SELECT … FOR UPDATE`), then reads the operation of the same request and
 * the payment's totals and asks the money rules of ../../domain/operation-limits.ts, so two
 * concurrent requests on any instances queue on that lock and never both fit in one remainder
 * (nor insert the same request twice). Outcome changes are conditional `UPDATE`s.
 *
 * @see ../sqlite/operations.ts (the same rules under SQLite's write lock)
 */
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
import { applyPgCommandWrites } from './agent-commands.ts';
import { insertPgAudit } from './audit-row.ts';
import { toTs, type PgDb, type PgQueryable } from './pg-db.ts';
import { insertPgEvent, pgOp, pgOperation, readPgOperation, readPgPayment } from './rows.ts';

/** Σ of the payment's operations by the domain rule. */
async function totalsOf(q: PgQueryable, paymentId: string): Promise<OperationTotals> {
  const rows = await q.rows<{ kind: CountedOperation['kind']; status: CountedOperation['status']; amount_minor: number }>(
    'SELECT kind, status, amount_minor FROM operations WHERE payment_id = $1',
    [paymentId],
  );
  return operationTotals(rows.map((r) => ({ kind: r.kind, status: r.status, amountMinor: r.amount_minor })));
}

async function findIn(q: PgQueryable, paymentId: string, kind: OperationKind, requestId: string): Promise<OperationRecord | null> {
  const row = await q.one<Record<string, unknown>>('SELECT * FROM operations WHERE payment_id = $1 AND kind = $2 AND request_id = $3', [
    paymentId,
    kind,
    requestId,
  ]);
  return row ? pgOperation(row) : null;
}

/** The operations port on the shared pool. */
export class PgOperations implements OperationsPort {
  readonly #db: PgDb;

  constructor(db: PgDb) {
    this.#db = db;
  }

  recordOperation(input: NewOperation): Promise<RecordOperationResult> {
    return pgOp('recordOperation', () =>
      this.#db.transaction(async (tx): Promise<RecordOperationResult> => {
        // The payment's row lock serialises every operation of the payment (and its transitions).
        const payment = await readPgPayment(tx, input.paymentId, true);
        const existing = await findIn(tx, input.paymentId, input.kind, input.requestId);
        if (existing) return { kind: 'existing', operation: existing };
        if (input.kind !== 'cancel') {
          const verdict = checkOperationLimit(
            { kind: input.kind, amountMinor: input.amountMinor },
            payment ? { status: payment.status, authorizedMinor: authorizedMinor(payment) } : null,
            await totalsOf(tx, input.paymentId),
          );
          if (!verdict.allowed) return operationRefusal(verdict, payment);
          if (input.kind === 'settle') {
            // Serialises with cancellations: a transition computed from the old version fails its CAS.
            await tx.run('UPDATE payments SET version = version + 1, updated_at = $1 WHERE payment_id = $2', [toTs(input.at), input.paymentId]);
          }
        }
        const row = await tx.one<Record<string, unknown>>(
          `INSERT INTO operations (operation_id, payment_id, kind, request_id, amount_minor, status, serial_number, created_at, updated_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING *`,
          [input.operationId, input.paymentId, input.kind, input.requestId, input.amountMinor, input.status, input.serialNumber ?? null, toTs(input.at)],
        );
        if (!row) throw new Error('operation vanished after insert');
        await applyPgCommandWrites(tx, input.command ? { open: [input.command] } : undefined, input.at);
        return { kind: 'created', operation: pgOperation(row) };
      }),
    );
  }

  getOperation(operationId: string): Promise<OperationRecord | null> {
    return pgOp('getOperation', () => readPgOperation(this.#db, operationId));
  }

  findOperation(paymentId: string, kind: OperationKind, requestId: string): Promise<OperationRecord | null> {
    return pgOp('findOperation', () => findIn(this.#db, paymentId, kind, requestId));
  }

  setOperationOutcome(operationId: string, change: OperationOutcomeChange): Promise<OperationRecord | null> {
    return pgOp('setOperationOutcome', () =>
      this.#db.transaction(async (tx) => {
        const row = await tx.one<Record<string, unknown>>(
          `UPDATE operations SET status = $1, terminal_ref = COALESCE($2, terminal_ref), authorization_id = COALESCE($3, authorization_id),
             nsu = COALESCE($4, nsu), response_code = COALESCE($5, response_code), message = COALESCE($6, message), updated_at = $7
           WHERE operation_id = $8 AND status IN ('pending', 'unknown')
           RETURNING *`,
          [
            change.status,
            change.terminalRef ?? null,
            change.authorizationId ?? null,
            change.nsu ?? null,
            change.responseCode ?? null,
            change.message ?? null,
            toTs(change.at),
            operationId,
          ],
        );
        if (!row) return null;
        // A final outcome closes the refund's command in the same transaction (an unknown one keeps it open).
        if (change.status !== 'pending' && change.status !== 'unknown') {
          await applyPgCommandWrites(tx, { close: [{ commandId: operationId, reason: change.status }] }, change.at);
        }
        return pgOperation(row);
      }),
    );
  }

  resolveUnknownOperation(resolution: OperationResolution): Promise<OperationRecord | null> {
    return pgOp('resolveUnknownOperation', () =>
      this.#db.transaction(async (tx) => {
        const row = await tx.one<Record<string, unknown>>(
          `UPDATE operations SET status = $1, message = $2, updated_at = $3 WHERE operation_id = $4 AND status = 'unknown' RETURNING *`,
          [resolution.status, resolution.message, toTs(resolution.at), resolution.operationId],
        );
        if (!row) return null;
        const op = pgOperation(row);
        await applyPgCommandWrites(tx, { close: [{ commandId: resolution.operationId, reason: 'resolved' }] }, resolution.at);
        const payment = await tx.one<{ state: string }>('SELECT state FROM payments WHERE payment_id = $1 FOR SHARE', [op.paymentId]);
        if (!payment) throw new Error(`payment ${op.paymentId} of operation ${op.operationId} is missing`);
        await insertPgEvent(tx, {
          paymentId: op.paymentId,
          type: 'operation.resolved',
          from: payment.state,
          to: payment.state,
          data: { operationId: op.operationId, kind: op.kind, outcome: resolution.status, operator: resolution.operator, reason: resolution.reason },
          at: resolution.at,
        });
        if (resolution.audit) await insertPgAudit(tx, resolution.audit);
        return op;
      }),
    );
  }

  countUnknownOperations(): Promise<number> {
    return pgOp('countUnknownOperations', async () => {
      const row = await this.#db.one<{ n: number }>(`SELECT COUNT(*) AS n FROM operations WHERE status = 'unknown'`);
      return row?.n ?? 0;
    });
  }

  releaseOperation(operationId: string, at: number): Promise<boolean> {
    return pgOp('releaseOperation', () =>
      this.#db.transaction(async (tx) => {
        const n = await tx.run(`DELETE FROM operations WHERE operation_id = $1 AND kind = 'refund' AND status = 'pending' AND answer IS NULL`, [
          operationId,
        ]);
        if (n === 1) await applyPgCommandWrites(tx, { close: [{ commandId: operationId, reason: 'released' }] }, at);
        return n === 1;
      }),
    );
  }

  setOperationAnswer(operationId: string, httpStatus: number, body: unknown, at: number): Promise<OperationRecord> {
    return pgOp('setOperationAnswer', async () => {
      await this.#db.run('UPDATE operations SET answer_status = $1, answer = $2, updated_at = $3 WHERE operation_id = $4 AND answer IS NULL', [
        httpStatus,
        JSON.stringify(body),
        toTs(at),
        operationId,
      ]);
      const op = await readPgOperation(this.#db, operationId);
      if (!op) throw new Error(`operation ${operationId} does not exist`);
      return op;
    });
  }

  listOpenRefunds(serialNumbers: readonly string[]): Promise<OperationRecord[]> {
    if (serialNumbers.length === 0) return Promise.resolve([]);
    return pgOp('listOpenRefunds', async () => {
      const rows = await this.#db.rows<Record<string, unknown>>(
        `SELECT * FROM operations WHERE kind = 'refund' AND status IN ('pending', 'unknown')
           AND serial_number = ANY($1::text[]) ORDER BY created_at, operation_id COLLATE "C"`,
        [serialNumbers],
      );
      return rows.map(pgOperation);
    });
  }

  operationTotals(paymentId: string): Promise<OperationTotals> {
    return pgOp('operationTotals', () => totalsOf(this.#db, paymentId));
  }
}
