/**
 * Group commit of Create Payment on SQLite: creates that arrive while the connection's lock is
 * busy (./sqlite-db.ts) are inserted together in one `BEGIN IMMEDIATE … COMMIT`, and each is
 * answered only after that COMMIT, so a new payment is committed before its answer exactly as
 * with one transaction per create; the batch only shares the transaction's fixed cost (BEGIN,
 * COMMIT, the WAL append) among the creates that were waiting anyway.
 *
 * When a batch fails (one bad row fails the whole transaction, which is rolled back), each of its
 * creates is retried alone in its own transaction, so a failure rejects only its own caller.
 *
 * @see docs/performance.md "What limits them" (PPP)
 */
import { BOOTSTRAP_MERCHANT_ID } from '../../ports/directory.ts';
import type { CreatePaymentResult, NewPayment } from '../../ports/payments.ts';
import type { SqliteDb } from './sqlite-db.ts';
import { rowToPayment, runExclusive, type PaymentRow } from './rows.ts';
import { storeError } from '../store-error.ts';

/** Most creates in one transaction (a bound on the time the lock is held for one batch). */
export const MAX_CREATE_BATCH = 64;

const INSERT_PAYMENT = `INSERT OR IGNORE INTO payments (payment_id, id, transaction_id, order_id, reference, merchant_name, method,
   installments, amount_minor, currency, callback_url, state, version, created_at, changed_at, updated_at,
   merchant_id, deadline_at, test_suite)
 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'awaiting_terminal', 0, ?, ?, ?, ?, ?, ?)
 RETURNING *`;
const INSERT_CREATED_EVENT = `INSERT INTO payment_events (payment_id, type, from_state, to_state, data, at) VALUES (?, 'created', NULL, 'awaiting_terminal', ?, ?)`;
const SELECT_PAYMENT = 'SELECT * FROM payments WHERE payment_id = ?';

interface Waiting {
  readonly input: NewPayment;
  resolve(result: CreatePaymentResult): void;
  reject(err: unknown): void;
}

/** Inserts one payment (idempotent by `paymentId`) with its `created` event, inside the caller's transaction. */
async function insertOne(db: SqliteDb, input: NewPayment): Promise<CreatePaymentResult> {
  // RETURNING answers the new row in the same step; an ignored insert (the id exists) returns none.
  const [inserted] = await db.cachedAll<PaymentRow>(INSERT_PAYMENT, [
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
  ]);
  if (inserted) {
    await db.cachedRun(INSERT_CREATED_EVENT, [
      input.paymentId,
      JSON.stringify({ amount: input.amount, method: input.method, installments: input.installments }),
      input.createdAt,
    ]);
    return { payment: rowToPayment(inserted), created: true };
  }
  const [existing] = await db.cachedAll<PaymentRow>(SELECT_PAYMENT, [input.paymentId]);
  if (!existing) throw new Error('payment vanished after insert');
  return { payment: rowToPayment(existing), created: false };
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
   * transaction that holds it committed. @throws CodedError `STORE_FAILED`.
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

  /** Runs inside the lock: takes every create waiting now (up to the bound) and commits them together. */
  async #flush(): Promise<void> {
    const batch = this.#waiting.splice(0, MAX_CREATE_BATCH);
    this.#queued = false;
    if (this.#waiting.length > 0) this.#queue(); // the rest go in the next batch, after this one
    if (batch.length === 0) return;
    let results: CreatePaymentResult[] | undefined;
    try {
      results = await this.#db.transaction(async () => {
        const out: CreatePaymentResult[] = [];
        for (const w of batch) out.push(await insertOne(this.#db, w.input));
        return out;
      });
    } catch (err) {
      if (batch.length === 1) {
        batch[0]?.reject(storeError('createPayment', err));
        return;
      }
    }
    if (results) {
      batch.forEach((w, i) => w.resolve(results[i] as CreatePaymentResult));
      return;
    }
    // The batch was rolled back: each alone, so only the failing one is refused.
    for (const w of batch) {
      try {
        w.resolve(await this.#db.transaction(() => insertOne(this.#db, w.input)));
      } catch (err) {
        w.reject(storeError('createPayment', err));
      }
    }
  }
}
