/**
 * {@link PaymentsPort} in memory, with the semantics of the SQLite adapter: idempotent create
 * by `paymentId` (one row, ever), a compare-and-set transition on (version, status) that writes
 * the state, its audit event and at most one callback per kind in one transaction, and the
 * stored shape of a state (only the fields the schema keeps, a card only when whole).
 */
import { applyCommandWrites } from './agent-commands.ts';
import { insertMemoryAudit } from './audit-row.ts';
import type { ProgressStage } from '@posbridge/protocol/ws';
import { createdEventData, eventData } from '../../domain/audit-data.ts';
import type { PaymentMachineState, PaymentStatus, TerminalOutcome } from '../../domain/payment-machine.ts';
import type { NewCallback } from '../../ports/callback-outbox.ts';
import { BOOTSTRAP_MERCHANT_ID } from '../../ports/directory.ts';
import type { CreatePaymentResult, NewPayment, Payment, PaymentChange, PaymentsPort } from '../../ports/payments.ts';
import { byKeys, ConstraintError, copy, type MemoryConnection, type MemoryState } from './state.ts';

/** Statuses in which a payment still waits for a terminal (what a deadline ends). */
const WAITING: readonly PaymentStatus[] = ['awaiting_terminal', 'dispatched', 'accepted', 'unknown'];

/** Appends a row to the payment event log (inside the caller's transaction). */
export function appendPaymentEvent(
  state: MemoryState,
  paymentId: string,
  type: string,
  fromStatus: PaymentStatus | null,
  toStatus: PaymentStatus,
  data: unknown,
  at: number,
): void {
  if (!state.tables.payments.has(paymentId)) throw new ConstraintError('foreign_key', `payment_events.payment_id ${paymentId}`);
  const seq = state.nextSeq('payment_events');
  state.tables.paymentEvents.set(seq, { seq, paymentId, type, fromStatus, toStatus, data: JSON.stringify(data), at });
}

/** Enqueues the final callback unless the payment has one of that kind (inside the caller's transaction). */
function enqueueCallback(state: MemoryState, paymentId: string, callback: NewCallback, at: number): void {
  const kind = `final:${callback.status}`;
  for (const row of state.tables.callbacks.values()) if (row.paymentId === paymentId && row.kind === kind) return;
  const id = state.nextSeq('callbacks');
  state.tables.callbacks.set(id, {
    id,
    paymentId,
    kind,
    url: callback.url,
    body: callback.body,
    status: 'pending',
    attempts: 0,
    nextAttemptAt: at,
    lastError: null,
    lastHttpStatus: null,
    createdAt: at,
    updatedAt: at,
    expiresAt: callback.expiresAt ?? null,
    leaseOwner: null,
    leaseUntil: null,
  });
}

/** The outcome as the schema keeps it (its columns), given the payment's requested amount. */
function storedOutcome(o: TerminalOutcome | null, requestedMinor: number): TerminalOutcome | null {
  if (o === null) return null;
  return {
    outcome: o.outcome,
    terminalRef: o.terminalRef ?? '',
    authorizationId: o.authorizationId ?? null,
    nsu: o.nsu ?? null,
    tid: o.tid ?? null,
    responseCode: o.responseCode ?? null,
    message: o.message ?? null,
    card: o.card ? { brand: o.card.brand, firstDigits: o.card.firstDigits, lastDigits: o.card.lastDigits } : null,
    amountMinor: o.amountMinor ?? requestedMinor,
  };
}

/** The machine state as the schema keeps it. */
function storedState(next: PaymentMachineState, requestedMinor: number): PaymentMachineState {
  return {
    status: next.status,
    binding: next.binding ? { serialNumber: next.binding.serialNumber, agentId: next.binding.agentId, startId: next.binding.startId } : null,
    outcome: storedOutcome(next.outcome, requestedMinor),
    endReason: next.endReason,
    deadlineAt: next.deadlineAt,
    changedAt: next.changedAt,
  };
}

const oldestChange = byKeys<Payment>((p) => p.changedAt, (p) => p.paymentId);

/** The payments port over a memory connection. */
export class MemoryPayments implements PaymentsPort {
  readonly #conn: MemoryConnection;

  constructor(conn: MemoryConnection) {
    this.#conn = conn;
  }

  createPayment(input: NewPayment): Promise<CreatePaymentResult> {
    return this.#conn.run('createPayment', () => {
      const { payments } = this.#conn.tables;
      const existing = payments.get(input.paymentId);
      if (existing) return { payment: copy(existing), created: false };
      if (!Number.isSafeInteger(input.amount.amountMinor) || input.amount.amountMinor < 0) {
        throw new ConstraintError('check', 'payments.amount_minor >= 0');
      }
      for (const p of payments.values()) if (p.id === input.id) throw new ConstraintError('unique', 'payments.id');
      const payment: Payment = {
        paymentId: input.paymentId,
        id: input.id,
        transactionId: input.transactionId,
        orderId: input.orderId,
        reference: input.reference,
        merchantName: input.merchantName,
        merchantId: input.merchantId ?? BOOTSTRAP_MERCHANT_ID,
        testSuite: input.testSuite === true,
        ...(input.sandbox === true ? { sandbox: true } : {}),
        ...(input.traceId !== undefined ? { traceId: input.traceId } : {}),
        method: input.method,
        installments: input.installments,
        amount: { amountMinor: input.amount.amountMinor, currency: input.amount.currency },
        callbackUrl: input.callbackUrl,
        createdAt: input.createdAt,
        status: 'awaiting_terminal',
        binding: null,
        outcome: null,
        endReason: null,
        deadlineAt: input.deadlineAt ?? null,
        changedAt: input.createdAt,
        version: 0,
        progressStage: null,
        updatedAt: input.createdAt,
      };
      payments.set(payment.paymentId, payment);
      appendPaymentEvent(
        this.#conn.state,
        input.paymentId,
        'created',
        null,
        'awaiting_terminal',
        createdEventData(input),
        input.createdAt,
      );
      return { payment: copy(payment), created: true };
    });
  }

  getPayment(paymentId: string): Promise<Payment | null> {
    return this.#conn.run('getPayment', () => {
      const p = this.#conn.tables.payments.get(paymentId);
      return p ? copy(p) : null;
    });
  }

  applyTransition(change: PaymentChange): Promise<Payment | null> {
    return this.#conn.run('applyTransition', () => {
      const { payments } = this.#conn.tables;
      const current = payments.get(change.paymentId);
      if (!current || current.version !== change.expectedVersion || current.status !== change.expectedStatus) return null;
      const updated: Payment = {
        ...current,
        ...storedState(change.next, current.amount.amountMinor),
        updatedAt: change.at,
        version: current.version + 1,
      };
      payments.set(change.paymentId, updated);
      appendPaymentEvent(
        this.#conn.state,
        change.paymentId,
        change.event.type,
        change.expectedStatus,
        change.next.status,
        eventData(change.event),
        change.at,
      );
      if (change.callback) enqueueCallback(this.#conn.state, change.paymentId, change.callback, change.at);
      applyCommandWrites(this.#conn.tables, change.commands, change.at);
      if (change.audit) insertMemoryAudit(this.#conn.state, change.audit);
      return copy(updated);
    });
  }

  setProgressStage(paymentId: string, stage: ProgressStage, at: number): Promise<boolean> {
    return this.#conn.run('setProgressStage', () => {
      const { payments } = this.#conn.tables;
      const p = payments.get(paymentId);
      if (!p) return false;
      payments.set(paymentId, { ...p, progressStage: stage, updatedAt: at });
      return true;
    });
  }

  listBoundPayments(status: PaymentStatus, serialNumbers: readonly string[]): Promise<Payment[]> {
    return this.#conn.run('listBoundPayments', () => this.#paymentsIn([status], serialNumbers));
  }

  claimDuePayments(now: number, limit: number, leaseMs: number, owner: string): Promise<Payment[]> {
    return this.#conn.run('claimDuePayments', () => {
      const { payments, deadlineLeases } = this.#conn.tables;
      const free = (p: Payment): boolean => {
        const lease = deadlineLeases.get(p.paymentId);
        return lease === undefined || lease.until <= now;
      };
      const due = [...payments.values()]
        .filter((p) => p.deadlineAt !== null && p.deadlineAt <= now && WAITING.includes(p.status) && free(p))
        .sort(byKeys<Payment>((p) => p.deadlineAt, (p) => p.paymentId));
      const chosen = limit < 0 ? due : due.slice(0, limit); // SQL: a negative LIMIT is none
      for (const p of chosen) deadlineLeases.set(p.paymentId, { owner, until: now + leaseMs });
      return chosen.map(copy);
    });
  }

  listPaymentsIn(statuses: readonly PaymentStatus[], serialNumbers: readonly string[]): Promise<Payment[]> {
    return this.#conn.run('listPaymentsIn', () => this.#paymentsIn(statuses, serialNumbers));
  }

  /** Payments in one of `statuses` bound to one of `serialNumbers`, by (changedAt, paymentId). */
  #paymentsIn(statuses: readonly PaymentStatus[], serialNumbers: readonly string[]): Payment[] {
    if (statuses.length === 0 || serialNumbers.length === 0) return [];
    const serials = new Set(serialNumbers);
    return [...this.#conn.tables.payments.values()]
      .filter((p) => statuses.includes(p.status) && p.binding !== null && serials.has(p.binding.serialNumber))
      .sort(oldestChange)
      .map(copy);
  }

  countPaymentsByStatus(): Promise<Partial<Record<PaymentStatus, number>>> {
    return this.#conn.run('countPaymentsByStatus', () => {
      const counts: Partial<Record<PaymentStatus, number>> = {};
      for (const p of this.#conn.tables.payments.values()) counts[p.status] = (counts[p.status] ?? 0) + 1;
      return counts;
    });
  }
}
