/**
 * Group commit of Create Payment on SQLite: creates that arrive while the connection's lock is
 * busy (./sqlite-db.ts) are inserted together by one multi-row `INSERT OR IGNORE … RETURNING`
 * run in autocommit mode — one statement is one transaction, and the `payments_created_event`
 * trigger (migration 12, ./migrations.ts) writes each new payment's `created` event inside it —
 * and each is answered only after that statement committed, so a new payment and its event are
 * on disk before its answer exactly as with one transaction per create. The batch shares the
 * transaction's fixed cost (the commit, the WAL append, the trip to the database thread) among
 * the creates that were waiting anyway: one trip per batch instead of BEGIN, two inserts, COMMIT.
 *
 * Two batches overlap: a committed batch's callers are answered on the next turn of the event
 * loop, after the lock has passed to the next batch and its statement is on its way to SQLite's
 * thread, so the main thread writes one batch's answers while the database commits the next
 * (still each answer after its own commit).
 *
 * When a batch fails (one bad row fails the whole statement, which then wrote nothing), each of
 * its creates is retried alone, so a failure rejects only its own caller.
 *
 * @see docs/performance.md "What limits them" (PPP)
 */
import { BOOTSTRAP_MERCHANT_ID } from '../../ports/directory.ts';
import type { CreatePaymentResult, NewPayment } from '../../ports/payments.ts';
import type { SqliteDb, SqlParam } from './sqlite-db.ts';
import { rowToPayment, runExclusive, type PaymentRow } from './rows.ts';
import { storeError } from '../store-error.ts';

/** Most creates in one transaction (a bound on the time the lock is held for one batch). */
export const MAX_CREATE_BATCH = 64;

const INSERT_PAYMENT = `INSERT OR IGNORE INTO payments (payment_id, id, transaction_id, order_id, reference, merchant_name, method,
   installments, amount_minor, currency, callback_url, state, version, created_at, changed_at, updated_at,
   merchant_id, deadline_at, test_suite, sandbox, trace_id)
 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'awaiting_terminal', 0, ?, ?, ?, ?, ?, ?, ?, ?)
 RETURNING payment_id`;

interface Waiting {
  readonly input: NewPayment;
  resolve(result: CreatePaymentResult): void;
  reject(err: unknown): void;
}

/** The bound parameters of one payment row of INSERT_PAYMENT (its VALUES order). */
function paymentParams(input: NewPayment): SqlParam[] {
  return [
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
    input.createdAt,
    input.createdAt,
    input.createdAt,
    input.merchantId ?? BOOTSTRAP_MERCHANT_ID,
    input.deadlineAt ?? null,
    input.testSuite === true ? 1 : 0,
    input.sandbox === true ? 1 : 0,
    input.traceId ?? null,
  ];
}

/**
 * The row INSERT_PAYMENT writes for `input` (every column it does not set is NULL), so a new
 * payment is answered without reading its 35 columns back (server/src/adapters/sqlite/sqlite-hot-path.test.ts
 * checks it equals the stored row).
 */
function insertedRow(input: NewPayment): PaymentRow {
  return {
    payment_id: input.paymentId,
    id: input.id,
    transaction_id: input.transactionId,
    order_id: input.orderId,
    reference: input.reference,
    merchant_name: input.merchantName,
    method: input.method,
    installments: input.installments,
    amount_minor: input.amount.amountMinor,
    currency: input.amount.currency,
    callback_url: input.callbackUrl,
    state: 'awaiting_terminal',
    version: 0,
    serial_number: null,
    agent_id: null,
    start_id: null,
    progress_stage: null,
    outcome: null,
    terminal_ref: null,
    authorization_id: null,
    nsu: null,
    result_tid: null,
    response_code: null,
    result_message: null,
    card_brand: null,
    card_first_digits: null,
    card_last_digits: null,
    result_amount_minor: null,
    merchant_id: input.merchantId ?? BOOTSTRAP_MERCHANT_ID,
    end_reason: null,
    deadline_at: input.deadlineAt ?? null,
    test_suite: input.testSuite === true ? 1 : 0,
    sandbox: input.sandbox === true ? 1 : 0,
    trace_id: input.traceId ?? null,
    created_at: input.createdAt,
    changed_at: input.createdAt,
    updated_at: input.createdAt,
  };
}

/** `sql` with its `VALUES (…)` row repeated `n` times (constant text per `n`, so each is prepared once). */
const repeated = new Map<string, string[]>();
function manyRows(sql: string, n: number): string {
  let byN = repeated.get(sql);
  if (!byN) repeated.set(sql, (byN = []));
  if (byN[n] === undefined) {
    const at = sql.indexOf('VALUES (');
    const end = sql.indexOf(')', at) + 1;
    const row = sql.slice(at + 'VALUES '.length, end);
    byN[n] = `${sql.slice(0, at)}VALUES ${Array.from({ length: n }, () => row).join(', ')}${sql.slice(end)}`;
  }
  return byN[n];
}

/**
 * Inserts the payments (each idempotent by `paymentId`), each new one with its `created` event
 * (the trigger), in one statement whatever their number: one multi-row
 * `INSERT OR IGNORE … RETURNING payment_id` (rows are inserted in order, so of two creates of one
 * id in the batch the first wins, as if they had come one after the other). Run outside any
 * transaction it is its own; a read of the ids that already existed follows only when some did.
 *
 * `OR IGNORE` also skips a row that breaks a NOT NULL or another UNIQUE constraint (a CHECK or a
 * foreign key fails the whole statement instead): such an input, neither inserted nor existing,
 * gets an Error in its place while the others of the statement stay committed.
 */
async function insertMany(db: SqliteDb, inputs: readonly NewPayment[]): Promise<(CreatePaymentResult | Error)[]> {
  const inserted = await db.cachedAll<{ payment_id: string }>(manyRows(INSERT_PAYMENT, inputs.length), inputs.flatMap(paymentParams));
  const byId = new Set(inserted.map((r) => r.payment_id));
  const created = inputs.filter((input, i) => byId.has(input.paymentId) && inputs.findIndex((o) => o.paymentId === input.paymentId) === i);
  const missing = [...new Set(inputs.filter((input) => !byId.has(input.paymentId)).map((input) => input.paymentId))];
  const existing = new Map<string, PaymentRow>();
  if (missing.length > 0) {
    const rows = await db.cachedAll<PaymentRow>(`SELECT * FROM payments WHERE payment_id IN (${missing.map(() => '?').join(', ')})`, missing);
    for (const r of rows) existing.set(r.payment_id, r);
  }
  // The first input of each inserted id is the row that was written; a later one of the same id was ignored.
  const written = new Map<string, PaymentRow>();
  for (const input of created) written.set(input.paymentId, insertedRow(input));
  const answered = new Set<string>();
  return inputs.map((input) => {
    const fresh = written.get(input.paymentId);
    if (fresh && !answered.has(input.paymentId)) {
      answered.add(input.paymentId);
      return { payment: rowToPayment(fresh), created: true };
    }
    const row = fresh ?? existing.get(input.paymentId);
    if (!row) return new Error('payment not inserted: a NOT NULL or UNIQUE constraint of its row failed');
    return { payment: rowToPayment(row), created: false };
  });
}

function settle(w: Waiting, result: CreatePaymentResult | Error | undefined): void {
  if (result instanceof Error || result === undefined) w.reject(storeError('createPayment', result ?? new Error('no result')));
  else w.resolve(result);
}

/** The group-committing Create Payment of one connection. */
export class CreateBatcher {
  readonly #db: SqliteDb;
  #waiting: Waiting[] = [];
  /** A flush is queued on the lock and has not taken its batch yet. */
  #queued = false;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  /**
   * Creates the payment once per `paymentId` (PaymentsPort.createPayment), resolving after the
   * statement that holds it committed. @throws CodedError `STORE_FAILED`.
   */
  create(input: NewPayment): Promise<CreatePaymentResult> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ input, resolve, reject });
      if (!this.#queued) this.#queue();
    });
  }

  #queue(): void {
    this.#queued = true;
    void runExclusive(this.#db, 'createPayment', () => this.#flush()).catch(() => undefined);
  }

  /**
   * Runs inside the lock (so no other operation's transaction is open on the connection, which
   * the statement would join): takes every create waiting now (up to the bound) and commits them together.
   */
  async #flush(): Promise<void> {
    const batch = this.#waiting.splice(0, MAX_CREATE_BATCH);
    this.#queued = false;
    if (this.#waiting.length > 0) this.#queue(); // the rest go in the next batch, after this one
    if (batch.length === 0) return;
    let results: (CreatePaymentResult | Error)[] | undefined;
    try {
      results = await insertMany(this.#db, batch.map((w) => w.input));
    } catch (err) {
      if (batch.length === 1) {
        batch[0]?.reject(storeError('createPayment', err));
        return;
      }
    }
    if (results) {
      // Answered after the lock moved on: the next batch's statement (queued on the lock by the
      // creates that arrived meanwhile) goes to SQLite's thread first, and this batch's callers
      // build and write their answers while it runs, instead of SQLite waiting for them.
      const done = results;
      setImmediate(() => batch.forEach((w, i) => settle(w, done[i])));
      return;
    }
    // The statement failed and wrote nothing: each alone, so only the failing one is refused.
    for (const w of batch) {
      try {
        settle(w, (await insertMany(this.#db, [w.input]))[0]);
      } catch (err) {
        w.reject(storeError('createPayment', err));
      }
    }
  }
}
