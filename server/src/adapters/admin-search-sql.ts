/**
 * The payment search of ../ports/admin.ts as one SQL statement, for SQLite and PostgreSQL alike:
 * every filter an equality (or range) on a column of `payments`, the store through the bound
 * agent's `store_id`, newest first by (`created_at`, `payment_id`) with a keyset cursor. Only
 * placeholders carry input; the text is built from constant fragments.
 */
import { BOOTSTRAP_STORE_ID } from '../ports/directory.ts';
import type { PaymentSearch } from '../ports/admin.ts';

/** A statement and its parameters. */
export interface SearchSql<P> {
  readonly sql: string;
  readonly params: (P | string | number)[];
}

/**
 * Builds the search. `placeholder(i)` names parameter i (1-based: `?` for SQLite, `$i` for
 * PostgreSQL); `time` converts a time parameter (ms since epoch) to the dialect's value;
 * `collate` (PostgreSQL: ` COLLATE "C"`) makes paymentIds compare by code point, as SQLite's
 * BINARY and the memory adapter do, whatever the database's collation. Asks for `limit + 1` rows: the extra one only
 * tells that a next page exists.
 */
export function paymentSearchSql<P>(s: PaymentSearch, placeholder: (i: number) => string, time: (ms: number) => P, collate = ''): SearchSql<P> {
  const where: string[] = [];
  const params: (P | string | number)[] = [];
  const text = (v: string): string => v;
  const param = (v: P | string | number): string => {
    params.push(v);
    return placeholder(params.length);
  };
  const eq = (column: string, v: string | undefined): void => {
    if (v !== undefined) where.push(`${column} = ${param(text(v))}`);
  };
  eq('payment_id', s.paymentId);
  eq('order_id', s.orderId);
  eq('transaction_id', s.transactionId);
  if (s.tid !== undefined) {
    const a = param(text(s.tid));
    const b = param(text(s.tid));
    where.push(`(id = ${a} OR result_tid = ${b})`);
  }
  eq('nsu', s.nsu);
  eq('authorization_id', s.authorizationId);
  eq('serial_number', s.serialNumber);
  eq('merchant_id', s.merchantId);
  if (s.storeId !== undefined) {
    // Parameters in the order of the text: SQLite's `?` are positional.
    const b = param(text(BOOTSTRAP_STORE_ID));
    const a = param(text(s.storeId));
    where.push(`agent_id IN (SELECT agent_id FROM agents WHERE COALESCE(store_id, ${b}) = ${a})`);
  }
  if (s.statuses !== undefined) where.push(`state IN (${s.statuses.map((st) => param(text(st))).join(', ')})`);
  if (s.createdFrom !== undefined) where.push(`created_at >= ${param(time(s.createdFrom))}`);
  if (s.createdTo !== undefined) where.push(`created_at < ${param(time(s.createdTo))}`);
  if (s.after !== undefined) {
    const t1 = param(time(s.after.createdAt));
    const t2 = param(time(s.after.createdAt));
    const id = param(text(s.after.paymentId));
    where.push(`(created_at < ${t1} OR (created_at = ${t2} AND payment_id${collate} < ${id}))`);
  }
  const limit = param(s.limit + 1);
  const sql = `SELECT * FROM payments${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY created_at DESC, payment_id${collate} DESC LIMIT ${limit}`;
  return { sql, params };
}
