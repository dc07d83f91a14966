/**
 * Reading PostgreSQL rows back into the ports' domain types. The rows of ./schema-core.ts have
 * the columns of the SQLite schema, so the SQLite mappers (../sqlite/rows.ts: pure functions,
 * no driver) map them once {@link plain} has turned `timestamptz` values into ms since epoch and
 * booleans into SQLite's 0/1. Plus the helpers every PostgreSQL port shares.
 */
import type { OperationRecord } from '../../ports/operations.ts';
import type { Payment } from '../../ports/payments.ts';
import { storeError } from '../store-error.ts';
import {
  rowToCallback,
  rowToMerchant,
  rowToOperation,
  rowToPayment,
  type CallbackRow,
  type MerchantRow,
  type OperationRow,
  type PaymentRow,
} from '../sqlite/rows.ts';
import type { PgQueryable } from './pg-db.ts';

/** A row with `timestamptz` columns as ms since epoch and `boolean` columns as 0/1 (the SQLite shapes). */
export function plain<T>(row: Record<string, unknown>): T {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    out[key] = value instanceof Date ? value.getTime() : typeof value === 'boolean' ? (value ? 1 : 0) : value;
  }
  return out as T;
}

/** The domain payment of a `payments` row. */
export const pgPayment = (row: Record<string, unknown>): Payment => rowToPayment(plain<PaymentRow>(row));
/** The domain operation of an `operations` row. */
export const pgOperation = (row: Record<string, unknown>): OperationRecord => rowToOperation(plain<OperationRow>(row));
/** The domain callback of a `callback_outbox` row joined with `merchant_id`. */
export const pgCallback = (row: Record<string, unknown>): ReturnType<typeof rowToCallback> => rowToCallback(plain<CallbackRow>(row));
/** The domain merchant of a `merchants` row. */
export const pgMerchant = (row: Record<string, unknown>): ReturnType<typeof rowToMerchant> => rowToMerchant(plain<MerchantRow>(row));

/** Runs `fn`, wrapping driver failures in `STORE_FAILED` named `operation` (coded errors pass through). */
export async function pgOp<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw storeError(operation, err);
  }
}

/** True for PostgreSQL's unique-violation error (SQLSTATE 23505). */
export function isPgUniqueViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23505';
}

/** The payment, or null. */
export async function readPgPayment(q: PgQueryable, paymentId: string, lock = false): Promise<Payment | null> {
  const row = await q.one<Record<string, unknown>>(`SELECT * FROM payments WHERE payment_id = $1${lock ? ' FOR UPDATE' : ''}`, [paymentId]);
  return row ? pgPayment(row) : null;
}

/** The operation, or null. */
export async function readPgOperation(q: PgQueryable, operationId: string): Promise<OperationRecord | null> {
  const row = await q.one<Record<string, unknown>>('SELECT * FROM operations WHERE operation_id = $1', [operationId]);
  return row ? pgOperation(row) : null;
}

/** `INSERT INTO payment_events` of one audit row. */
export async function insertPgEvent(
  q: PgQueryable,
  e: { paymentId: string; type: string; from: string | null; to: string; data: unknown; at: number },
): Promise<void> {
  await q.run('INSERT INTO payment_events (payment_id, type, from_state, to_state, data, at) VALUES ($1, $2, $3, $4, $5, $6)', [
    e.paymentId,
    e.type,
    e.from,
    e.to,
    JSON.stringify(e.data),
    new Date(e.at),
  ]);
}
