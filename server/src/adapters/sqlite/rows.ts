/**
 * Row shapes of the SQLite schema (./migrations.ts) and their mapping to the domain
 * types of the ports, plus the helpers every SQLite port shares: error wrapping and the reads
 * that more than one port needs inside its own transaction.
 */
import type { AgentCommandKind, AgentCommandRecord, AgentCommandStatus } from '../../ports/agent-commands.ts';
import type { PaymentMethodKind, ProgressStage } from '@posbridge/protocol/ws';
import type { EndReason, PaymentStatus, TerminalOutcome } from '../../domain/payment-machine.ts';
import type { CallbackEntry, CallbackStatus } from '../../ports/callback-outbox.ts';
import type { CallbackMode, MerchantRecord } from '../../ports/directory.ts';
import type { OperationKind, OperationRecord, OperationStatus } from '../../ports/operations.ts';
import type { Payment } from '../../ports/payments.ts';
import type { SqliteDb, SqlParam } from './sqlite-db.ts';
import { storeError } from '../store-error.ts';

/** A `payments` row. */
export interface PaymentRow {
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
  /** 1 = sent from a VTEX sandbox (migration 9; absent before it). */
  sandbox?: number;
  /** The W3C trace id (migration 14; absent before it, null on older payments). */
  trace_id?: string | null;
  created_at: number;
  changed_at: number;
  updated_at: number;
}


/** A `callback_outbox` row joined with its payment's `merchant_id`. */
export interface CallbackRow {
  id: number;
  payment_id: string;
  merchant_id: string;
  /** The payment's trace id (joined from `payments`; null before migration 14's column was set). */
  trace_id?: string | null;
  url: string;
  body: string;
  status: string;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  last_http_status: number | null;
  expires_at: number | null;
  lease_owner: string | null;
  lease_until: number | null;
}

/** An `operations` row. */
export interface OperationRow {
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

/** A `merchants` row. */
export interface MerchantRow {
  merchant_id: string;
  name: string | null;
  app_key: string;
  app_token_sha256: string;
  callback_mode: string;
  created_at: number;
  /** 1 = Test Suite mode on (migration 7; absent before it). */
  test_suite?: number;
  /** `vendor.name` of the merchant's Payment App, null = VTEX's (absent before its migration). */
  payment_app?: string | null;
  /** 1 = sandbox payments allowed on real terminals (migration 9; absent before it). */
  sandbox_terminals?: number;
}

/** The domain record of a `merchants` row. */
export function rowToMerchant(r: MerchantRow): MerchantRecord {
  return {
    merchantId: r.merchant_id,
    name: r.name,
    appKey: r.app_key,
    appTokenSha256: r.app_token_sha256,
    callbackMode: r.callback_mode as CallbackMode,
    createdAt: r.created_at,
    ...(r.test_suite === 1 ? { testSuiteMode: true } : {}),
    ...(typeof r.payment_app === 'string' ? { paymentApp: r.payment_app } : {}),
    ...(r.sandbox_terminals === 1 ? { sandboxTerminals: 'allow' as const } : {}),
  };
}

/** The domain record of an `operations` row (the stored answer parsed back from JSON). */
export function rowToOperation(r: OperationRow): OperationRecord {
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
export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Error && /UNIQUE constraint failed/.test(err.message);
}

/** The domain record of a `payments` row (binding and card only when all their columns are set). */
export function rowToPayment(r: PaymentRow): Payment {
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
    ...(r.sandbox === 1 ? { sandbox: true } : {}),
    ...(typeof r.trace_id === 'string' ? { traceId: r.trace_id } : {}),
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

/** The domain record of a `callback_outbox` row. */
export function rowToCallback(r: CallbackRow): CallbackEntry {
  return {
    id: r.id,
    paymentId: r.payment_id,
    merchantId: r.merchant_id,
    ...(typeof r.trace_id === 'string' ? { traceId: r.trace_id } : {}),
    url: r.url,
    body: r.body,
    status: r.status as CallbackStatus,
    attempts: r.attempts,
    nextAttemptAt: r.next_attempt_at,
    lastError: r.last_error,
    lastHttpStatus: r.last_http_status,
    expiresAt: r.expires_at,
    leaseOwner: r.lease_owner,
    leaseUntil: r.lease_until,
  };
}


/** Runs `fn` alone on the connection (FIFO lock), wrapping driver failures in `STORE_FAILED` named `operation`. */
export function runExclusive<T>(db: SqliteDb, operation: string, fn: () => Promise<T>): Promise<T> {
  return db.exclusive(fn).catch((err: unknown) => {
    throw storeError(operation, err);
  });
}

/**
 * The rows of a read of committed state on the reader connection (./sqlite-db.ts `read`: not
 * queued behind writes). Only for a read outside any transaction of the caller's.
 * @throws CodedError `STORE_FAILED` naming `operation`.
 */
export async function readCommitted<T>(db: SqliteDb, operation: string, sql: string, params: readonly SqlParam[]): Promise<T[]> {
  try {
    return await db.read<T>(sql, params);
  } catch (err) {
    throw storeError(operation, err);
  }
}

/** The payment, or null (no lock of its own: call inside {@link runExclusive}). */
export async function readPayment(db: SqliteDb, paymentId: string): Promise<Payment | null> {
  const row = await db.get<PaymentRow>('SELECT * FROM payments WHERE payment_id = ?', [paymentId]);
  return row ? rowToPayment(row) : null;
}

/** The operation, or null (no lock of its own: call inside {@link runExclusive}). */
export async function readOperation(db: SqliteDb, operationId: string): Promise<OperationRecord | null> {
  const row = await db.get<OperationRow>('SELECT * FROM operations WHERE operation_id = ?', [operationId]);
  return row ? rowToOperation(row) : null;
}

/** A row of `agent_commands` (times as ms since epoch). */
export interface CommandRow {
  command_id: string;
  kind: string;
  payment_id: string;
  merchant_id: string;
  serial_number: string;
  agent_id: string | null;
  message: string;
  status: string;
  created_at: number;
  attempts: number;
  last_sent_at: number | null;
  sent_session_id: string | null;
  next_attempt_at: number | null;
  acked_at: number | null;
  acked_session_id: string | null;
  passed_session_id: string | null;
  closed_at: number | null;
  close_reason: string | null;
}

/** An `agent_commands` row as the port's record. */
export function rowToCommand(r: CommandRow): AgentCommandRecord {
  return {
    commandId: r.command_id,
    kind: r.kind as AgentCommandKind,
    paymentId: r.payment_id,
    merchantId: r.merchant_id,
    serialNumber: r.serial_number,
    agentId: r.agent_id,
    message: r.message,
    status: r.status as AgentCommandStatus,
    createdAt: r.created_at,
    attempts: r.attempts,
    lastSentAt: r.last_sent_at,
    sentSessionId: r.sent_session_id,
    nextAttemptAt: r.next_attempt_at,
    ackedAt: r.acked_at,
    ackedSessionId: r.acked_session_id,
    passedSessionId: r.passed_session_id,
    closedAt: r.closed_at,
    closeReason: r.close_reason,
  };
}
