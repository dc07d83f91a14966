/**
 * {@link PaymentStore} on SQLite (the `sqlite3` package), for a single server instance.
 *
 * Connection setup: `journal_mode=WAL`, `busy_timeout`, `foreign_keys=ON`. Every operation runs
 * through one FIFO lock (see ./sqlite-db.ts) so transactions never interleave on the shared
 * connection. Idempotent create is `INSERT OR IGNORE` on the `payment_id` primary key.
 */
import { CodedError, isCodedError } from '@posbridge/protocol/errors';
import type { PaymentMethodKind, ProgressStage } from '@posbridge/protocol/ws';
import type { EndReason, PaymentEvent, PaymentStatus, TerminalOutcome } from '../domain/payment-machine.ts';
import { applyCommandWrites, SqliteAgentCommands } from '../adapters/sqlite/agent-commands.ts';
import type { AgentCommandsPort } from '../ports/agent-commands.ts';
import { MIGRATIONS } from './migrations.ts';
import { SqliteDb, type SqlParam } from './sqlite-db.ts';
import {
  BOOTSTRAP_MERCHANT_ID,
  BOOTSTRAP_STORE_ID,
  type CallbackMode,
  type MerchantRecord,
  type NewOperation,
  type OperationKind,
  type OperationOutcomeChange,
  type OperationResolution,
  type OperationRecord,
  type OperationStatus,
  type OperationTotals,
  type RecordOperationResult,
  type StoreRecord,
  type TerminalListing,
} from './store.ts';
import type {
  AgentRecord,
  CallbackClaimFairness,
  CallbackEntry,
  CallbackStatus,
  CreatePaymentResult,
  NewPayment,
  Payment,
  PaymentChange,
  PaymentEventRecord,
  PaymentStore,
  TerminalRecord,
  TerminalEventRecord,
  TerminalMove,
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
  merchant_id: string;
  end_reason: string | null;
  deadline_at: number | null;
  test_suite: number;
  created_at: number;
  changed_at: number;
  updated_at: number;
}

interface CallbackRow {
  id: number;
  payment_id: string;
  merchant_id: string;
  url: string;
  body: string;
  status: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  last_http_status: number | null;
  expires_at: number | null;
}

interface OperationRow {
  operation_id: string;
  payment_id: string;
  kind: string;
  request_id: string;
  amount_minor: number;
  status: string;
  serial_number: string | null;
  terminal_ref: string | null;
  authorization_id: string | null;
  nsu: string | null;
  response_code: string | null;
  message: string | null;
  answer_status: number | null;
  answer: string | null;
  created_at: number;
  updated_at: number;
}

interface MerchantRow {
  merchant_id: string;
  name: string | null;
  app_key: string;
  app_token_sha256: string;
  callback_mode: string;
  created_at: number;
}

function rowToMerchant(r: MerchantRow): MerchantRecord {
  return {
    merchantId: r.merchant_id,
    name: r.name,
    appKey: r.app_key,
    appTokenSha256: r.app_token_sha256,
    callbackMode: r.callback_mode as CallbackMode,
    createdAt: r.created_at,
  };
}

function rowToOperation(r: OperationRow): OperationRecord {
  return {
    operationId: r.operation_id,
    paymentId: r.payment_id,
    kind: r.kind as OperationKind,
    requestId: r.request_id,
    amountMinor: r.amount_minor,
    status: r.status as OperationStatus,
    serialNumber: r.serial_number,
    terminalRef: r.terminal_ref,
    authorizationId: r.authorization_id,
    nsu: r.nsu,
    responseCode: r.response_code,
    message: r.message,
    answer:
      r.answer_status === null || r.answer === null
        ? null
        : { httpStatus: r.answer_status, body: JSON.parse(r.answer) as unknown },
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

/** True for a UNIQUE constraint failure from sqlite3. */
function isUniqueViolation(err: unknown): boolean {
  return err instanceof Error && /UNIQUE constraint failed/.test(err.message);
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
    merchantId: r.merchant_id,
    testSuite: r.test_suite === 1,
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
    endReason: r.end_reason as EndReason | null,
    deadlineAt: r.deadline_at,
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
    merchantId: r.merchant_id,
    url: r.url,
    body: r.body,
    status: r.status as CallbackStatus,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    lastHttpStatus: r.last_http_status,
    expiresAt: r.expires_at,
  };
}

/** Audit data of an event: what happened, never card data beyond brand/first6/last4. */
function eventData(event: PaymentEvent): unknown {
  switch (event.type) {
    case 'terminal.bound':
      return { ...event.binding, deadlineAt: event.deadlineAt };
    case 'agent.acked':
      return { startId: event.startId };
    case 'start.rejected':
      return { code: event.code, message: event.message, ...(event.startId !== undefined ? { startId: event.startId } : {}) };
    case 'result.received':
      return {
        outcome: event.outcome.outcome,
        terminalRef: event.outcome.terminalRef,
        responseCode: event.outcome.responseCode,
        amountMinor: event.outcome.amountMinor,
      };
    case 'cancel.requested':
      return { canReverse: event.canReverse };
    case 'deadline.passed':
      return {};
    case 'void.result':
      return { outcome: event.outcome, message: event.message };
    case 'operator.resolved':
      // Who and why (the row's `at` is when): the audit trail of a manual resolution.
      return { outcome: event.outcome, authorizationId: event.authorizationId, operator: event.operator, reason: event.reason };
    case 'terminal.moved':
      return { outcome: event.outcome.outcome, message: event.outcome.message };
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
  /** The agent-command log on the same connection (its writes commit with the changes above). */
  readonly commands: AgentCommandsPort;

  constructor(db: SqliteDb) {
    this.#db = db;
    this.commands = new SqliteAgentCommands(db);
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
             installments, amount_minor, currency, callback_url, state, version, created_at, changed_at, updated_at,
             merchant_id, deadline_at, test_suite)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'awaiting_terminal', 0, ?, ?, ?, ?, ?, ?)`,
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
            input.merchantId ?? BOOTSTRAP_MERCHANT_ID,
            input.deadlineAt ?? null,
            input.testSuite === true ? 1 : 0,
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
          next.endReason,
          next.deadlineAt,
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
             end_reason = ?, deadline_at = ?, changed_at = ?, updated_at = ?, version = version + 1
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

  claimDueCallbacks(now: number, leaseMs: number, limit: number, fairness?: CallbackClaimFairness): Promise<CallbackEntry[]> {
    const perMerchantLimit = fairness?.perMerchantLimit ?? Number.MAX_SAFE_INTEGER;
    const inFlight = JSON.stringify(Object.fromEntries(fairness?.inFlight ?? []));
    return this.#op('claimDueCallbacks', () =>
      this.#db.transaction(async () => {
        // Rank each merchant's due callbacks oldest first; taking rank 1 of every merchant, then
        // rank 2, ... is the round-robin turn. A merchant's rank plus what it has in flight must
        // stay within its bound.
        const rows = await this.#db.all<CallbackRow>(
          `WITH due AS (
             SELECT o.*, p.merchant_id AS merchant_id,
                    ROW_NUMBER() OVER (PARTITION BY p.merchant_id ORDER BY o.next_attempt_at, o.id) AS merchant_rank
               FROM callback_outbox o JOIN payments p ON p.payment_id = o.payment_id
              WHERE o.status = 'pending' AND o.next_attempt_at <= ?
           )
           SELECT due.* FROM due LEFT JOIN json_each(?) AS busy ON busy.key = due.merchant_id
            WHERE due.merchant_rank + COALESCE(busy.value, 0) <= ?
            ORDER BY due.merchant_rank, due.next_attempt_at, due.id
            LIMIT ?`,
          [now, inFlight, perMerchantLimit, limit],
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
      const rows = await this.#db.all<CallbackRow>(
        `SELECT o.*, p.merchant_id AS merchant_id FROM callback_outbox o JOIN payments p ON p.payment_id = o.payment_id
          WHERE o.payment_id = ? ORDER BY o.id`,
        [paymentId],
      );
      return rows.map(rowToCallback);
    });
  }

  createAgent(agent: AgentRecord, tokenSha256: string): Promise<void> {
    return this.#op('createAgent', async () => {
      await this.#db.run('INSERT INTO agents (agent_id, name, token_sha256, created_at, store_id) VALUES (?, ?, ?, ?, ?)', [
        agent.agentId,
        agent.name,
        tokenSha256,
        agent.createdAt,
        agent.storeId ?? null,
      ]);
    });
  }

  findAgentByTokenHash(tokenSha256: string): Promise<AgentRecord | null> {
    return this.#op('findAgentByTokenHash', async () => {
      const row = await this.#db.get<{ agent_id: string; name: string; created_at: number; store_id: string | null }>(
        'SELECT agent_id, name, created_at, store_id FROM agents WHERE token_sha256 = ?',
        [tokenSha256],
      );
      return row ? { agentId: row.agent_id, name: row.name, createdAt: row.created_at, storeId: row.store_id } : null;
    });
  }

  getAgent(agentId: string): Promise<AgentRecord | null> {
    return this.#op('getAgent', async () => {
      const row = await this.#db.get<{ agent_id: string; name: string; created_at: number; store_id: string | null }>(
        'SELECT agent_id, name, created_at, store_id FROM agents WHERE agent_id = ?',
        [agentId],
      );
      return row ? { agentId: row.agent_id, name: row.name, createdAt: row.created_at, storeId: row.store_id } : null;
    });
  }

  registerTerminal(terminal: TerminalRecord): Promise<{ terminal: TerminalRecord; created: boolean }> {
    return this.#op('registerTerminal', () =>
      this.#db.transaction(async () => {
        const inserted = await this.#db.run(
          'INSERT INTO terminals (serial_number, agent_id, last_seen_at) VALUES (?, ?, ?) ON CONFLICT (serial_number) DO NOTHING',
          [terminal.serialNumber, terminal.agentId, terminal.lastSeenAt],
        );
        if (inserted.changes === 1) {
          await this.#db.run(
            `INSERT INTO terminal_events (serial_number, type, from_agent_id, to_agent_id, actor, reason, at)
             VALUES (?, 'registered', NULL, ?, 'hub', 'first announced by this agent', ?)`,
            [terminal.serialNumber, terminal.agentId, terminal.lastSeenAt],
          );
          return { terminal: { ...terminal }, created: true };
        }
        const row = await this.#db.get<{ serial_number: string; agent_id: string; last_seen_at: number }>(
          'SELECT * FROM terminals WHERE serial_number = ?',
          [terminal.serialNumber],
        );
        if (!row) throw new Error(`terminal ${terminal.serialNumber} vanished`);
        return { terminal: { serialNumber: row.serial_number, agentId: row.agent_id, lastSeenAt: row.last_seen_at }, created: false };
      }),
    );
  }

  touchTerminal(serialNumber: string, agentId: string, at: number): Promise<boolean> {
    return this.#op('touchTerminal', async () => {
      const r = await this.#db.run('UPDATE terminals SET last_seen_at = ? WHERE serial_number = ? AND agent_id = ?', [at, serialNumber, agentId]);
      return r.changes === 1;
    });
  }

  moveTerminal(move: TerminalMove): Promise<boolean> {
    return this.#op('moveTerminal', () =>
      this.#db.transaction(async () => {
        const r = await this.#db.run('UPDATE terminals SET agent_id = ? WHERE serial_number = ? AND agent_id = ?', [
          move.toAgentId,
          move.serialNumber,
          move.fromAgentId,
        ]);
        if (r.changes !== 1) return false;
        await this.#db.run(
          `INSERT INTO terminal_events (serial_number, type, from_agent_id, to_agent_id, actor, reason, at)
           VALUES (?, 'moved', ?, ?, ?, ?, ?)`,
          [move.serialNumber, move.fromAgentId, move.toAgentId, move.actor.slice(0, 200), move.reason.slice(0, 500), move.at],
        );
        return true;
      }),
    );
  }

  listTerminalEvents(serialNumber: string): Promise<TerminalEventRecord[]> {
    return this.#op('listTerminalEvents', async () => {
      const rows = await this.#db.all<{
        seq: number;
        serial_number: string;
        type: 'registered' | 'moved';
        from_agent_id: string | null;
        to_agent_id: string;
        actor: string;
        reason: string;
        at: number;
      }>('SELECT * FROM terminal_events WHERE serial_number = ? ORDER BY seq', [serialNumber]);
      return rows.map((r) => ({
        seq: r.seq,
        serialNumber: r.serial_number,
        type: r.type,
        fromAgentId: r.from_agent_id,
        toAgentId: r.to_agent_id,
        actor: r.actor,
        reason: r.reason,
        at: r.at,
      }));
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

  listDuePayments(now: number, limit: number): Promise<Payment[]> {
    return this.#op('listDuePayments', async () => {
      const rows = await this.#db.all<PaymentRow>(
        `SELECT * FROM payments WHERE deadline_at IS NOT NULL AND deadline_at <= ?
           AND state IN ('awaiting_terminal', 'dispatched', 'accepted', 'unknown')
         ORDER BY deadline_at, payment_id LIMIT ?`,
        [now, limit],
      );
      return rows.map(rowToPayment);
    });
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

  async #readOperation(operationId: string): Promise<OperationRecord | null> {
    const row = await this.#db.get<OperationRow>('SELECT * FROM operations WHERE operation_id = ?', [operationId]);
    return row ? rowToOperation(row) : null;
  }

  async #totals(paymentId: string): Promise<OperationTotals> {
    const row = await this.#db.get<{ settled: number | null; refunded: number | null; refunding: number | null }>(
      `SELECT
         SUM(CASE WHEN kind = 'settle' AND status = 'approved' THEN amount_minor END) AS settled,
         SUM(CASE WHEN kind = 'refund' AND status = 'approved' THEN amount_minor END) AS refunded,
         SUM(CASE WHEN kind = 'refund' AND status IN ('pending', 'unknown') THEN amount_minor END) AS refunding
       FROM operations WHERE payment_id = ?`,
      [paymentId],
    );
    return { settledMinor: row?.settled ?? 0, refundedMinor: row?.refunded ?? 0, refundingMinor: row?.refunding ?? 0 };
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
          const payment = await this.#readPayment(input.paymentId);
          if (payment?.status !== 'approved') {
            return {
              kind: 'refused',
              reason: 'not_approved',
              limitMinor: 0,
              payment: payment ? { status: payment.status, endReason: payment.endReason } : null,
            };
          }
          const totals = await this.#totals(input.paymentId);
          const authorized = payment.outcome?.amountMinor ?? payment.amount.amountMinor;
          const limitMinor =
            input.kind === 'settle'
              ? authorized - totals.settledMinor
              : totals.settledMinor - totals.refundedMinor - totals.refundingMinor;
          if (input.amountMinor > limitMinor) return { kind: 'refused', reason: 'exceeds', limitMinor: Math.max(0, limitMinor) };
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
      if (info.changes === 1 && change.status !== 'pending' && change.status !== 'unknown') await applyCommandWrites(this.#db, { close: [{ commandId: operationId, reason: change.status }] }, change.at);
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

  releaseOperation(operationId: string): Promise<boolean> {
    return this.#op('releaseOperation', () => this.#db.transaction(async () => {
      const info = await this.#db.run(
        `DELETE FROM operations WHERE operation_id = ? AND kind = 'refund' AND status = 'pending' AND answer IS NULL`,
        [operationId],
      );
      // The store interface gives no time here; the close time is only for support.
      if (info.changes === 1) await applyCommandWrites(this.#db, { close: [{ commandId: operationId, reason: 'released' }] }, Date.now());
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

  upsertBootstrapMerchant(merchant: MerchantRecord): Promise<void> {
    return this.#op('upsertBootstrapMerchant', () =>
      this.#db.transaction(async () => {
        // Another merchant may have been given the env appKey or name by the CLI: that is a
        // configuration error, reported by the UNIQUE constraint.
        await this.#db.run(
          `INSERT INTO merchants (merchant_id, name, app_key, app_token_sha256, callback_mode, created_at) VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (merchant_id) DO UPDATE SET name = excluded.name, app_key = excluded.app_key,
             app_token_sha256 = excluded.app_token_sha256, callback_mode = excluded.callback_mode`,
          [merchant.merchantId, merchant.name, merchant.appKey, merchant.appTokenSha256, merchant.callbackMode, merchant.createdAt],
        );
        await this.#db.run(
          `INSERT OR IGNORE INTO stores (store_id, merchant_id, name, created_at) VALUES (?, ?, 'default', ?)`,
          [BOOTSTRAP_STORE_ID, merchant.merchantId, merchant.createdAt],
        );
      }),
    ).catch((err: unknown) => {
      if (isUniqueViolation((err as { cause?: unknown }).cause ?? err)) {
        throw new CodedError('CFG_INVALID', 'the bootstrap merchant\'s appKey or name belongs to another merchant', { cause: err });
      }
      throw err;
    });
  }

  createMerchant(merchant: MerchantRecord): Promise<void> {
    return this.#op('createMerchant', async () => {
      try {
        await this.#db.run(
          'INSERT INTO merchants (merchant_id, name, app_key, app_token_sha256, callback_mode, created_at) VALUES (?, ?, ?, ?, ?, ?)',
          [merchant.merchantId, merchant.name, merchant.appKey, merchant.appTokenSha256, merchant.callbackMode, merchant.createdAt],
        );
      } catch (err) {
        if (isUniqueViolation(err)) throw new CodedError('CFG_INVALID', `a merchant named ${JSON.stringify(merchant.name)} already exists`);
        throw err;
      }
    });
  }

  #merchantBy(column: 'app_key' | 'name' | 'merchant_id', value: string, operation: string): Promise<MerchantRecord | null> {
    return this.#op(operation, async () => {
      const row = await this.#db.get<MerchantRow>(`SELECT * FROM merchants WHERE ${column} = ?`, [value]);
      return row ? rowToMerchant(row) : null;
    });
  }

  findMerchantByAppKey(appKey: string): Promise<MerchantRecord | null> {
    return this.#merchantBy('app_key', appKey, 'findMerchantByAppKey');
  }

  findMerchantByName(name: string): Promise<MerchantRecord | null> {
    return this.#merchantBy('name', name, 'findMerchantByName');
  }

  getMerchant(merchantId: string): Promise<MerchantRecord | null> {
    return this.#merchantBy('merchant_id', merchantId, 'getMerchant');
  }

  listMerchants(): Promise<MerchantRecord[]> {
    return this.#op('listMerchants', async () => {
      const rows = await this.#db.all<MerchantRow>('SELECT * FROM merchants ORDER BY created_at, merchant_id');
      return rows.map(rowToMerchant);
    });
  }

  createStore(store: StoreRecord): Promise<void> {
    return this.#op('createStore', async () => {
      try {
        await this.#db.run('INSERT INTO stores (store_id, merchant_id, name, created_at) VALUES (?, ?, ?, ?)', [
          store.storeId,
          store.merchantId,
          store.name,
          store.createdAt,
        ]);
      } catch (err) {
        if (isUniqueViolation(err)) throw new CodedError('CFG_INVALID', `the merchant already has a store named ${JSON.stringify(store.name)}`);
        throw err;
      }
    });
  }

  findStore(merchantId: string, name: string): Promise<StoreRecord | null> {
    return this.#op('findStore', async () => {
      const row = await this.#db.get<{ store_id: string; merchant_id: string; name: string; created_at: number }>(
        'SELECT * FROM stores WHERE merchant_id = ? AND name = ?',
        [merchantId, name],
      );
      return row ? { storeId: row.store_id, merchantId: row.merchant_id, name: row.name, createdAt: row.created_at } : null;
    });
  }

  agentOwner(agentId: string): Promise<{ merchantId: string; storeId: string } | null> {
    return this.#op('agentOwner', async () => {
      const row = await this.#db.get<{ store_id: string | null; merchant_id: string | null }>(
        'SELECT a.store_id AS store_id, s.merchant_id AS merchant_id FROM agents a LEFT JOIN stores s ON s.store_id = a.store_id WHERE a.agent_id = ?',
        [agentId],
      );
      if (!row) return null;
      if (row.store_id === null) return { merchantId: BOOTSTRAP_MERCHANT_ID, storeId: BOOTSTRAP_STORE_ID };
      return row.merchant_id === null ? null : { merchantId: row.merchant_id, storeId: row.store_id };
    });
  }

  listTerminals(merchantId?: string): Promise<TerminalListing[]> {
    return this.#op('listTerminals', async () => {
      const rows = await this.#db.all<{
        serial_number: string;
        agent_id: string;
        last_seen_at: number;
        agent_name: string;
        store_id: string;
        store_name: string | null;
        merchant_id: string;
        merchant_name: string | null;
      }>(
        `SELECT t.serial_number, t.agent_id, t.last_seen_at, a.name AS agent_name,
                COALESCE(a.store_id, '${BOOTSTRAP_STORE_ID}') AS store_id, s.name AS store_name,
                COALESCE(s.merchant_id, '${BOOTSTRAP_MERCHANT_ID}') AS merchant_id, m.name AS merchant_name
           FROM terminals t JOIN agents a ON a.agent_id = t.agent_id
           LEFT JOIN stores s ON s.store_id = COALESCE(a.store_id, '${BOOTSTRAP_STORE_ID}')
           LEFT JOIN merchants m ON m.merchant_id = COALESCE(s.merchant_id, '${BOOTSTRAP_MERCHANT_ID}')
          ORDER BY t.serial_number`,
      );
      return rows
        .map((r) => ({
          serialNumber: r.serial_number,
          agentId: r.agent_id,
          lastSeenAt: r.last_seen_at,
          agentName: r.agent_name,
          storeId: r.store_id,
          storeName: r.store_name ?? 'default',
          merchantId: r.merchant_id,
          merchantName: r.merchant_name,
        }))
        .filter((t) => merchantId === undefined || t.merchantId === merchantId);
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

  getMeta(key: string): Promise<string | null> {
    return this.#op('getMeta', async () => {
      const row = await this.#db.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [key]);
      return row?.value ?? null;
    });
  }

  deleteMeta(key: string): Promise<void> {
    return this.#op('deleteMeta', async () => {
      // Overwrite the freed bytes too: a deleted secret must not linger in free pages.
      await this.#db.exec('PRAGMA secure_delete = ON');
      try {
        await this.#db.run('DELETE FROM meta WHERE key = ?', [key]);
      } finally {
        await this.#db.exec('PRAGMA secure_delete = OFF');
      }
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
export async function openSqliteStore(options: SqliteStoreOptions): Promise<PaymentStore & { readonly commands: AgentCommandsPort }> {
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
