/**
 * {@link PaymentStore} on SQLite (the `sqlite3` package), for a single server instance.
 *
 * Connection setup: `journal_mode=WAL`, `busy_timeout`, `foreign_keys=ON`. Every operation runs
 * through one FIFO lock (see ./sqlite-db.ts) so transactions never interleave on the shared
 * connection. Idempotent create is `INSERT OR IGNORE` on the `payment_id` primary key.
 */
import { CodedError, isCodedError } from '@posbridge/protocol/errors';
import type { PaymentMethodKind, ProgressStage } from '@posbridge/protocol/ws';
import type { PaymentEvent, PaymentStatus, TerminalOutcome } from '../payments/payment-machine.ts';
import { MIGRATIONS } from './migrations.ts';
import { SqliteDb, type SqlParam } from './sqlite-db.ts';
import type {
  AgentRecord,
  CallbackEntry,
  CallbackStatus,
  CreatePaymentResult,
  NewPayment,
  Payment,
  PaymentChange,
  PaymentEventRecord,
  PaymentStore,
  TerminalRecord,
} from './store.ts';

/** Options of {@link openSqliteStore}. */
export interface SqliteStoreOptions {
  /** Database file path, or `:memory:`. */
  filename: string;
  /** How long a statement waits for a lock held by another connection. @default 5000 */
  busyTimeoutMs?: number;
}

interface PaymentRow {
  payment_id: string;
  id: string;
  transaction_id: string;
  order_id: string;
  reference: string;
  merchant_name: string;
  method: string;
  installments: number;
  amount_minor: number;
  currency: string;
  callback_url: string;
  state: string;
  version: number;
  serial_number: string | null;
  agent_id: string | null;
  start_id: string | null;
  progress_stage: string | null;
  outcome: string | null;
  terminal_ref: string | null;
  authorization_id: string | null;
  nsu: string | null;
  result_tid: string | null;
  response_code: string | null;
  result_message: string | null;
  card_brand: string | null;
  card_first_digits: string | null;
  card_last_digits: string | null;
  result_amount_minor: number | null;
  created_at: number;
  changed_at: number;
  updated_at: number;
}

interface CallbackRow {
  id: number;
  payment_id: string;
  url: string;
  body: string;
  status: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  last_http_status: number | null;
}

function rowToPayment(r: PaymentRow): Payment {
  const outcome: TerminalOutcome | null =
    r.outcome === null
      ? null
      : {
          outcome: r.outcome as TerminalOutcome['outcome'],
          terminalRef: r.terminal_ref ?? '',
          authorizationId: r.authorization_id,
          nsu: r.nsu,
          tid: r.result_tid,
          responseCode: r.response_code,
          message: r.result_message,
          card:
            r.card_brand !== null && r.card_first_digits !== null && r.card_last_digits !== null
              ? { brand: r.card_brand, firstDigits: r.card_first_digits, lastDigits: r.card_last_digits }
              : null,
          amountMinor: r.result_amount_minor ?? r.amount_minor,
        };
  return {
    paymentId: r.payment_id,
    id: r.id,
    transactionId: r.transaction_id,
    orderId: r.order_id,
    reference: r.reference,
    merchantName: r.merchant_name,
    method: r.method as PaymentMethodKind,
    installments: r.installments,
    amount: { amountMinor: r.amount_minor, currency: r.currency },
    callbackUrl: r.callback_url,
    createdAt: r.created_at,
    status: r.state as PaymentStatus,
    binding:
      r.serial_number !== null && r.agent_id !== null && r.start_id !== null
        ? { serialNumber: r.serial_number, agentId: r.agent_id, startId: r.start_id }
        : null,
    outcome,
    changedAt: r.changed_at,
    version: r.version,
    progressStage: r.progress_stage as ProgressStage | null,
    updatedAt: r.updated_at,
  };
}

function rowToCallback(r: CallbackRow): CallbackEntry {
  return {
    id: r.id,
    paymentId: r.payment_id,
    url: r.url,
    body: r.body,
    status: r.status as CallbackStatus,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    lastHttpStatus: r.last_http_status,
  };
}

/** Audit data of an event: what happened, never card data beyond brand/first6/last4. */
function eventData(event: PaymentEvent): unknown {
  switch (event.type) {
    case 'terminal.bound':
      return event.binding;
    case 'agent.acked':
      return { startId: event.startId };
    case 'start.rejected':
      return { code: event.code, message: event.message };
    case 'result.received':
      return {
        outcome: event.outcome.outcome,
        terminalRef: event.outcome.terminalRef,
        responseCode: event.outcome.responseCode,
        amountMinor: event.outcome.amountMinor,
      };
    default: {
      const never: never = event;
      return never;
    }
  }
}

/** Wraps driver failures in `STORE_FAILED`, keeping coded errors as they are. */
function storeError(operation: string, err: unknown): CodedError {
  if (isCodedError(err)) return err;
  return new CodedError('STORE_FAILED', `payment store: ${operation} failed`, { cause: err, details: { operation } });
}

class SqlitePaymentStore implements PaymentStore {
  readonly #db: SqliteDb;

  constructor(db: SqliteDb) {
    this.#db = db;
  }

  #op<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    return this.#db.exclusive(fn).catch((err: unknown) => {
      throw storeError(operation, err);
    });
  }

  async #readPayment(paymentId: string): Promise<Payment | null> {
    const row = await this.#db.get<PaymentRow>('SELECT * FROM payments WHERE payment_id = ?', [paymentId]);
    return row ? rowToPayment(row) : null;
  }

  createPayment(input: NewPayment): Promise<CreatePaymentResult> {
    return this.#op('createPayment', () =>
      this.#db.transaction(async () => {
        const info = await this.#db.run(
          `INSERT OR IGNORE INTO payments (payment_id, id, transaction_id, order_id, reference, merchant_name, method,
             installments, amount_minor, currency, callback_url, state, version, created_at, changed_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'awaiting_terminal', 0, ?, ?, ?)`,
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
            input.createdAt,
            input.createdAt,
            input.createdAt,
          ],
        );
        const created = info.changes === 1;
        if (created) {
          await this.#db.run(
            `INSERT INTO payment_events (payment_id, type, from_state, to_state, data, at) VALUES (?, 'created', NULL, 'awaiting_terminal', ?, ?)`,
            [
              input.paymentId,
              JSON.stringify({ amount: input.amount, method: input.method, installments: input.installments }),
              input.createdAt,
            ],
          );
        }
        const payment = await this.#readPayment(input.paymentId);
        if (!payment) throw new Error('payment vanished after insert');
        return { payment, created };
      }),
    );
  }

  getPayment(paymentId: string): Promise<Payment | null> {
    return this.#op('getPayment', () => this.#readPayment(paymentId));
  }

  applyTransition(change: PaymentChange): Promise<Payment | null> {
    return this.#op('applyTransition', () =>
      this.#db.transaction(async () => {
        const { next } = change;
        const o = next.outcome;
        const params: SqlParam[] = [
          next.status,
          next.binding?.serialNumber ?? null,
          next.binding?.agentId ?? null,
          next.binding?.startId ?? null,
          o?.outcome ?? null,
          o?.terminalRef ?? null,
          o?.authorizationId ?? null,
          o?.nsu ?? null,
          o?.tid ?? null,
          o?.responseCode ?? null,
          o?.message ?? null,
          o?.card?.brand ?? null,
          o?.card?.firstDigits ?? null,
          o?.card?.lastDigits ?? null,
          o?.amountMinor ?? null,
          next.changedAt,
          change.at,
          change.paymentId,
          change.expectedVersion,
          change.expectedStatus,
        ];
        const info = await this.#db.run(
          `UPDATE payments SET state = ?, serial_number = ?, agent_id = ?, start_id = ?,
             outcome = ?, terminal_ref = ?, authorization_id = ?, nsu = ?, result_tid = ?, response_code = ?,
             result_message = ?, card_brand = ?, card_first_digits = ?, card_last_digits = ?, result_amount_minor = ?,
             changed_at = ?, updated_at = ?, version = version + 1
           WHERE payment_id = ? AND version = ? AND state = ?`,
          params,
        );
        if (info.changes !== 1) return null;
        await this.#db.run(
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
          await this.#db.run(
            `INSERT OR IGNORE INTO callback_outbox (payment_id, kind, url, body, status, attempts, next_attempt_at, created_at, updated_at)
             VALUES (?, 'final', ?, ?, 'pending', 0, ?, ?, ?)`,
            [change.paymentId, change.callback.url, change.callback.body, change.at, change.at, change.at],
          );
        }
        return this.#readPayment(change.paymentId);
      }),
    );
  }

  setProgressStage(paymentId: string, stage: ProgressStage, at: number): Promise<boolean> {
    return this.#op('setProgressStage', async () => {
      const info = await this.#db.run('UPDATE payments SET progress_stage = ?, updated_at = ? WHERE payment_id = ?', [
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

  claimDueCallbacks(now: number, leaseMs: number, limit: number): Promise<CallbackEntry[]> {
    return this.#op('claimDueCallbacks', () =>
      this.#db.transaction(async () => {
        const rows = await this.#db.all<CallbackRow>(
          `SELECT * FROM callback_outbox WHERE status = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, id LIMIT ?`,
          [now, limit],
        );
        for (const r of rows) {
          await this.#db.run('UPDATE callback_outbox SET next_attempt_at = ?, updated_at = ? WHERE id = ?', [
            now + leaseMs,
            now,
            r.id,
          ]);
        }
        return rows.map(rowToCallback);
      }),
    );
  }

  markCallbackDelivered(id: number, attempts: number, httpStatus: number, at: number): Promise<void> {
    return this.#op('markCallbackDelivered', async () => {
      await this.#db.run(
        `UPDATE callback_outbox SET status = 'delivered', attempts = ?, last_http_status = ?, last_error = NULL, updated_at = ? WHERE id = ?`,
        [attempts, httpStatus, at, id],
      );
    });
  }

  scheduleCallbackRetry(
    id: number,
    attempts: number,
    nextAttemptAt: number,
    error: string,
    httpStatus: number | null,
    at: number,
  ): Promise<void> {
    return this.#op('scheduleCallbackRetry', async () => {
      await this.#db.run(
        `UPDATE callback_outbox SET attempts = ?, next_attempt_at = ?, last_error = ?, last_http_status = ?, updated_at = ? WHERE id = ?`,
        [attempts, nextAttemptAt, error.slice(0, 500), httpStatus, at, id],
      );
    });
  }

  markCallbackFailed(id: number, attempts: number, error: string, httpStatus: number | null, at: number): Promise<void> {
    return this.#op('markCallbackFailed', async () => {
      await this.#db.run(
        `UPDATE callback_outbox SET status = 'failed', attempts = ?, last_error = ?, last_http_status = ?, updated_at = ? WHERE id = ?`,
        [attempts, error.slice(0, 500), httpStatus, at, id],
      );
    });
  }

  listCallbacks(paymentId: string): Promise<CallbackEntry[]> {
    return this.#op('listCallbacks', async () => {
      const rows = await this.#db.all<CallbackRow>('SELECT * FROM callback_outbox WHERE payment_id = ? ORDER BY id', [
        paymentId,
      ]);
      return rows.map(rowToCallback);
    });
  }

  createAgent(agent: AgentRecord, tokenSha256: string): Promise<void> {
    return this.#op('createAgent', async () => {
      await this.#db.run('INSERT INTO agents (agent_id, name, token_sha256, created_at) VALUES (?, ?, ?, ?)', [
        agent.agentId,
        agent.name,
        tokenSha256,
        agent.createdAt,
      ]);
    });
  }

  findAgentByTokenHash(tokenSha256: string): Promise<AgentRecord | null> {
    return this.#op('findAgentByTokenHash', async () => {
      const row = await this.#db.get<{ agent_id: string; name: string; created_at: number }>(
        'SELECT agent_id, name, created_at FROM agents WHERE token_sha256 = ?',
        [tokenSha256],
      );
      return row ? { agentId: row.agent_id, name: row.name, createdAt: row.created_at } : null;
    });
  }

  upsertTerminal(terminal: TerminalRecord): Promise<void> {
    return this.#op('upsertTerminal', async () => {
      await this.#db.run(
        `INSERT INTO terminals (serial_number, agent_id, last_seen_at) VALUES (?, ?, ?)
         ON CONFLICT (serial_number) DO UPDATE SET agent_id = excluded.agent_id, last_seen_at = excluded.last_seen_at`,
        [terminal.serialNumber, terminal.agentId, terminal.lastSeenAt],
      );
    });
  }

  findTerminal(serialNumber: string): Promise<TerminalRecord | null> {
    return this.#op('findTerminal', async () => {
      const row = await this.#db.get<{ serial_number: string; agent_id: string; last_seen_at: number }>(
        'SELECT * FROM terminals WHERE serial_number = ?',
        [serialNumber],
      );
      return row ? { serialNumber: row.serial_number, agentId: row.agent_id, lastSeenAt: row.last_seen_at } : null;
    });
  }

  getOrSetMeta(key: string, value: string): Promise<string> {
    return this.#op('getOrSetMeta', async () => {
      await this.#db.run('INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)', [key, value]);
      const row = await this.#db.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [key]);
      if (!row) throw new Error(`meta ${key} vanished`);
      return row.value;
    });
  }

  close(): Promise<void> {
    return this.#db.close();
  }
}

/** Applies pending migrations inside one transaction each. */
async function migrate(db: SqliteDb): Promise<void> {
  await db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
  const row = await db.get<{ version: number }>('SELECT MAX(version) AS version FROM schema_version');
  const current = row?.version ?? 0;
  for (let v = current + 1; v <= MIGRATIONS.length; v++) {
    const sql = MIGRATIONS[v - 1];
    if (sql === undefined) break;
    await db.transaction(async () => {
      await db.exec(sql);
      await db.run('INSERT INTO schema_version (version) VALUES (?)', [v]);
    });
  }
}

/**
 * Opens the SQLite database, configures the connection and applies migrations.
 * @throws CodedError `STORE_FAILED` when the file cannot be opened or migrated.
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<PaymentStore> {
  let db: SqliteDb | undefined;
  try {
    db = await SqliteDb.open(options.filename);
    db.setBusyTimeout(options.busyTimeoutMs ?? 5000);
    await db.exec('PRAGMA journal_mode = WAL');
    await db.exec(`PRAGMA busy_timeout = ${Math.trunc(options.busyTimeoutMs ?? 5000)}`);
    await db.exec('PRAGMA foreign_keys = ON');
    await db.exec('PRAGMA synchronous = NORMAL');
    const opened = db;
    await opened.exclusive(() => migrate(opened));
    return new SqlitePaymentStore(opened);
  } catch (err) {
    await db?.close().catch(() => undefined);
    throw storeError(`open ${options.filename}`, err);
  }
}
