/**
 * {@link OperationsPort} in memory, with the semantics of the SQLite adapter: one operation per
 * (`paymentId`, kind, `requestId`); a new settlement or refund is decided by the money rules of
 * ../../domain/operation-limits.ts from the payment and its totals read in the same transaction
 * (nothing can interleave: see ./state.ts), and a new settlement bumps the payment's `version`.
 */
import { applyCommandWrites } from './agent-commands.ts';
import { insertMemoryAudit } from './audit-row.ts';
import { authorizedMinor, checkOperationLimit, operationRefusal, operationTotals, type OperationTotals } from '../../domain/operation-limits.ts';
import type {
  NewOperation,
  OperationKind,
  OperationOutcomeChange,
  OperationRecord,
  OperationResolution,
  OperationsPort,
  RecordOperationResult,
} from '../../ports/operations.ts';
import { appendPaymentEvent } from './payments.ts';
import { byKeys, ConstraintError, type MemoryConnection, type OperationRow } from './state.ts';

/** The record of a stored row (its answer's body parsed back, a fresh object). */
export function toRecord(row: OperationRow): OperationRecord {
  const { answerStatus, answerBody, ...fields } = row;
  return {
    ...fields,
    answer: answerStatus === null || answerBody === null ? null : { httpStatus: answerStatus, body: JSON.parse(answerBody) as unknown },
  };
}

/** The operations port over a memory connection. */
export class MemoryOperations implements OperationsPort {
  readonly #conn: MemoryConnection;

  constructor(conn: MemoryConnection) {
    this.#conn = conn;
  }

  #find(paymentId: string, kind: OperationKind, requestId: string): OperationRow | undefined {
    for (const row of this.#conn.tables.operations.values()) {
      if (row.paymentId === paymentId && row.kind === kind && row.requestId === requestId) return row;
    }
    return undefined;
  }

  #totals(paymentId: string): OperationTotals {
    return operationTotals([...this.#conn.tables.operations.values()].filter((row) => row.paymentId === paymentId));
  }

  recordOperation(input: NewOperation): Promise<RecordOperationResult> {
    return this.#conn.run('recordOperation', (): RecordOperationResult => {
      const { operations, payments } = this.#conn.tables;
      const existing = this.#find(input.paymentId, input.kind, input.requestId);
      if (existing) return { kind: 'existing', operation: toRecord(existing) };
      if (input.kind !== 'cancel') {
        // One synchronous step (the lock): read the payment and its totals, decide with the domain rule.
        const payment = payments.get(input.paymentId) ?? null;
        const totals = this.#totals(input.paymentId);
        const verdict = checkOperationLimit(
          { kind: input.kind, amountMinor: input.amountMinor },
          payment ? { status: payment.status, authorizedMinor: authorizedMinor(payment) } : null,
          totals,
        );
        if (!verdict.allowed) return operationRefusal(verdict, payment);
        if (input.kind === 'settle' && payment) {
          // Serialises with cancellations: a transition computed from the old version fails its CAS.
          payments.set(payment.paymentId, { ...payment, version: payment.version + 1, updatedAt: input.at });
        }
      }
      if (!payments.has(input.paymentId)) throw new ConstraintError('foreign_key', `operations.payment_id ${input.paymentId}`);
      if (operations.has(input.operationId)) throw new ConstraintError('unique', 'operations.operation_id');
      if (!Number.isSafeInteger(input.amountMinor) || input.amountMinor < 0) throw new ConstraintError('check', 'operations.amount_minor >= 0');
      const row: OperationRow = {
        operationId: input.operationId,
        paymentId: input.paymentId,
        kind: input.kind,
        requestId: input.requestId,
        amountMinor: input.amountMinor,
        status: input.status,
        serialNumber: input.serialNumber ?? null,
        terminalRef: null,
        authorizationId: null,
        nsu: null,
        responseCode: null,
        message: null,
        answerStatus: null,
        answerBody: null,
        createdAt: input.at,
        updatedAt: input.at,
      };
      operations.set(row.operationId, row);
      applyCommandWrites(this.#conn.tables, input.command ? { open: [input.command] } : undefined, input.at);
      return { kind: 'created', operation: toRecord(row) };
    });
  }

  getOperation(operationId: string): Promise<OperationRecord | null> {
    return this.#conn.run('getOperation', () => {
      const row = this.#conn.tables.operations.get(operationId);
      return row ? toRecord(row) : null;
    });
  }

  findOperation(paymentId: string, kind: OperationKind, requestId: string): Promise<OperationRecord | null> {
    return this.#conn.run('findOperation', () => {
      const row = this.#find(paymentId, kind, requestId);
      return row ? toRecord(row) : null;
    });
  }

  setOperationOutcome(operationId: string, change: OperationOutcomeChange): Promise<OperationRecord | null> {
    return this.#conn.run('setOperationOutcome', () => {
      const { operations } = this.#conn.tables;
      const row = operations.get(operationId);
      if (!row || (row.status !== 'pending' && row.status !== 'unknown')) return null;
      const updated: OperationRow = {
        ...row,
        status: change.status,
        terminalRef: change.terminalRef ?? row.terminalRef,
        authorizationId: change.authorizationId ?? row.authorizationId,
        nsu: change.nsu ?? row.nsu,
        responseCode: change.responseCode ?? row.responseCode,
        message: change.message ?? row.message,
        updatedAt: change.at,
      };
      operations.set(operationId, updated);
      // A final outcome closes the refund's command in the same transaction (an unknown one keeps it open).
      if (change.status !== 'pending' && change.status !== 'unknown') {
        applyCommandWrites(this.#conn.tables, { close: [{ commandId: operationId, reason: change.status }] }, change.at);
      }
      return toRecord(updated);
    });
  }

  resolveUnknownOperation(resolution: OperationResolution): Promise<OperationRecord | null> {
    return this.#conn.run('resolveUnknownOperation', () => {
      const { operations, payments } = this.#conn.tables;
      const row = operations.get(resolution.operationId);
      if (!row || row.status !== 'unknown') return null;
      const updated: OperationRow = { ...row, status: resolution.status, message: resolution.message, updatedAt: resolution.at };
      operations.set(row.operationId, updated);
      applyCommandWrites(this.#conn.tables, { close: [{ commandId: row.operationId, reason: 'resolved' }] }, resolution.at);
      const payment = payments.get(row.paymentId);
      if (!payment) throw new Error(`payment ${row.paymentId} of operation ${row.operationId} is missing`);
      appendPaymentEvent(
        this.#conn.state,
        row.paymentId,
        'operation.resolved',
        payment.status,
        payment.status,
        { operationId: row.operationId, kind: row.kind, outcome: resolution.status, operator: resolution.operator, reason: resolution.reason },
        resolution.at,
      );
      if (resolution.audit) insertMemoryAudit(this.#conn.state, resolution.audit);
      return toRecord(updated);
    });
  }

  countUnknownOperations(): Promise<number> {
    return this.#conn.run('countUnknownOperations', () => {
      let n = 0;
      for (const row of this.#conn.tables.operations.values()) if (row.status === 'unknown') n++;
      return n;
    });
  }

  releaseOperation(operationId: string, at: number): Promise<boolean> {
    return this.#conn.run('releaseOperation', () => {
      const { operations } = this.#conn.tables;
      const row = operations.get(operationId);
      if (!row || row.kind !== 'refund' || row.status !== 'pending' || row.answerBody !== null) return false;
      applyCommandWrites(this.#conn.tables, { close: [{ commandId: operationId, reason: 'released' }] }, at);
      return operations.delete(operationId);
    });
  }

  setOperationAnswer(operationId: string, httpStatus: number, body: unknown, at: number): Promise<OperationRecord> {
    return this.#conn.run('setOperationAnswer', () => {
      const { operations } = this.#conn.tables;
      const row = operations.get(operationId);
      if (!row) throw new Error(`operation ${operationId} does not exist`);
      const text: string | undefined = JSON.stringify(body);
      if (row.answerBody !== null || text === undefined) return toRecord(row);
      const updated: OperationRow = { ...row, answerStatus: httpStatus, answerBody: text, updatedAt: at };
      operations.set(operationId, updated);
      return toRecord(updated);
    });
  }

  listOpenRefunds(serialNumbers: readonly string[]): Promise<OperationRecord[]> {
    return this.#conn.run('listOpenRefunds', () => {
      if (serialNumbers.length === 0) return [];
      const serials = new Set(serialNumbers);
      return [...this.#conn.tables.operations.values()]
        .filter((r) => r.kind === 'refund' && (r.status === 'pending' || r.status === 'unknown') && r.serialNumber !== null && serials.has(r.serialNumber))
        .sort(byKeys<OperationRow>((r) => r.createdAt, (r) => r.operationId))
        .map(toRecord);
    });
  }

  operationTotals(paymentId: string): Promise<OperationTotals> {
    return this.#conn.run('operationTotals', () => this.#totals(paymentId));
  }
}
