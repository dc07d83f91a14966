/**
 * The payment use cases: create (idempotent by paymentId, per merchant), bind a terminal
 * (submitUrl), expire payments at their deadline, and apply what agents report. Every state
 * change goes through the pure machine (./payment-machine.ts) and is persisted with a
 * compare-and-set, with the rows of its effects (callback, agent commands: ./command-rows.ts) in the
 * same transaction; after the commit the service only wakes their deliverers.
 *
 * Follow-up requests (cancellations, settlements, refunds) live in ./operation-service.ts and
 * change payments through {@link PaymentService.applyEvent}.
 *
 * @see ../../../../shared/spec/ppp-pos.md §2, §4.2 (idempotency), §5
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { CodedError } from '@posbridge/protocol/errors';
import { assertChargeable, formatMoney, moneyFromDecimal } from '@posbridge/protocol/money';
import type { CreatePaymentRequest } from '@posbridge/protocol/ppp';
import type { OperationResult, PaymentProgress, PaymentRejected, PaymentResult } from '@posbridge/protocol/ws';
import type { AgentEventHandler, AgentReportOutcome } from '../ports/agent-events.ts';
import type { Presence } from '../ports/presence.ts';
import { callbackBody, methodKindOf, type PppAnswerSettings } from '../ppp/mappers.ts';
import type { CallbackMode, OperationRecord, Payment, PaymentStore } from '../store/store.ts';
import { ChangeNotifier } from './change-notifier.ts';
import { commandWritesOf, voidIdOf } from './command-rows.ts';
import {
  transition,
  type PaymentEffect,
  type PaymentEvent,
  type PaymentStatus,
  type TerminalOutcome,
} from './payment-machine.ts';

/** Deadlines and callback windows, seconds. */
export interface DeadlineSettings {
  /** `secondsWaiting` of the wait app. */
  readonly secondsWaiting: number;
  /** `delayToCancel` reported to VTEX. */
  readonly delayToCancelSeconds: number;
  /** Added to `secondsWaiting` for the server-side deadline (the app's last poll must see the result). */
  readonly graceSeconds: number;
}

/** Options of {@link PaymentService}. */
export interface PaymentServiceOptions {
  readonly store: PaymentStore;
  readonly logger: Logger;
  readonly settings: PppAnswerSettings;
  readonly deadlines: DeadlineSettings;
  /** Clock, ms since epoch. @default Date.now */
  readonly now?: () => number;
  /** Called after a callback was enqueued (wakes the callback worker). */
  readonly onCallbackEnqueued?: () => void;
  /** Called after every committed payment change (metrics). */
  readonly onStatusChanged?: (from: PaymentStatus | null, to: PaymentStatus) => void;
  /** Where terminals are driven from (bindTerminal); absent in the CLI, which never binds. */
  readonly presence?: Presence;
  /**
   * Called after a change that opened agent commands for these serials committed (wakes
   * delivery; the rows are the truth, a lost wake only delays delivery to the next tick).
   */
  readonly wake?: (serialNumbers: readonly string[]) => void;
}

/** Who calls Create Payment. */
export interface CreateContext {
  /** Authenticated merchant. */
  readonly merchantId: string;
  /** `X-VTEX-API-Is-TestSuite: true` was sent. */
  readonly testSuite: boolean;
}

/** Answer of {@link PaymentService.createPayment}. */
export type CreatePaymentOutcome =
  | { readonly kind: 'unsupported_method' }
  | { readonly kind: 'payment'; readonly payment: Payment; readonly created: boolean };

/** Answer of {@link PaymentService.bindTerminal}. */
export interface BindOutcome {
  readonly payment: Payment;
  /** True when this call bound the terminal (false: idempotent repeat). */
  readonly bound: boolean;
}

/**
 * An operator's resolution of an `unknown` payment (`posbridge-server payment resolve`).
 * Bounded: `operator` 1–64 characters, `reason` 1–500, `authorizationId` 1–64 of
 * `A-Z a-z 0-9 . _ / -` and only with `approved`.
 */
export interface OperatorResolution {
  readonly outcome: 'approved' | 'denied';
  readonly reason: string;
  /** Who decided (OS user or `--operator`). */
  readonly operator: string;
  /** Authorization code from the terminal's receipt; absent: keep the terminal's. */
  readonly authorizationId?: string;
}

/** Answer of {@link PaymentService.applyEvent}. */
export interface ApplyOutcome {
  readonly payment: Payment | null;
  readonly applied: boolean;
  readonly reason?: string;
}

const MAX_CAS_ATTEMPTS = 8;
/** Statuses in which the terminal may be working on the payment (a terminal is busy). */
export const BUSY_STATUSES: readonly PaymentStatus[] = ['dispatched', 'accepted', 'unknown', 'aborting', 'reversing', 'reversal_unknown'];

/** posbridge's own id of a payment, reported as `tid`. */
function newPaymentId(): string {
  return `pb_${randomUUID().replaceAll('-', '')}`;
}

/** Message id of a `payment.start`. */
function newStartId(): string {
  return `st_${randomUUID().replaceAll('-', '')}`;
}

export { abortIdOf, voidIdOf } from './command-rows.ts';

/** Payment use cases. Also the hub's {@link AgentEventHandler}. */
export class PaymentService implements AgentEventHandler {
  readonly #store: PaymentStore;
  readonly #log: Logger;
  readonly #posLog: Logger;
  readonly #settings: PppAnswerSettings;
  readonly #deadlines: DeadlineSettings;
  readonly #now: () => number;
  readonly #onCallbackEnqueued: () => void;
  readonly #onStatusChanged: (from: PaymentStatus | null, to: PaymentStatus) => void;
  /** Wakes request handlers waiting on a payment (key: paymentId) or an operation (key: operationId). */
  readonly changes = new ChangeNotifier();
  readonly #presence: Presence | undefined;
  readonly #wake: (serialNumbers: readonly string[]) => void;

  constructor(options: PaymentServiceOptions) {
    this.#store = options.store;
    this.#log = options.logger.child({ component: 'payments' });
    this.#posLog = options.logger.child({ component: 'pos' });
    this.#settings = options.settings;
    this.#deadlines = options.deadlines;
    this.#now = options.now ?? Date.now;
    this.#onCallbackEnqueued = options.onCallbackEnqueued ?? (() => undefined);
    this.#onStatusChanged = options.onStatusChanged ?? (() => undefined);
    this.#presence = options.presence;
    this.#wake = options.wake ?? (() => undefined);
  }

  /** The presence port. @throws Error when the service was built without one (the CLI). */
  get presence(): Presence {
    if (!this.#presence) throw new Error('PaymentService built without presence');
    return this.#presence;
  }

  /** The service clock, ms since epoch. */
  now(): number {
    return this.#now();
  }

  /**
   * Create Payment: creates the payment once per `paymentId` and returns the stored one.
   * A method other than Venda Direta is not stored (`unsupported_method`, answered `denied`).
   *
   * @throws CodedError `MONEY_UNKNOWN_CURRENCY` / `MONEY_INVALID_AMOUNT` (400);
   *   `MONEY_AMOUNT_OUT_OF_RANGE` (400) for a `value` below one minor unit or above
   *   `MAX_CHARGE_MINOR` (docs/ppp.md "Amounts");
   *   `PPP_PAYMENT_MISMATCH` when the paymentId exists with another amount, currency, method or
   *   merchant; `STORE_FAILED`.
   * @see ppp-pos.md §4.2 "Idempotency"
   */
  async createPayment(req: CreatePaymentRequest, ctx: CreateContext): Promise<CreatePaymentOutcome> {
    const method = methodKindOf(req.paymentMethod);
    if (!method) return { kind: 'unsupported_method' };
    // Refused before anything is stored: 0 or more than a terminal's amount field would only fail later on the terminal.
    const amount = assertChargeable(moneyFromDecimal(req.value, req.currency), 'value');
    const now = this.#now();
    const { payment, created } = await this.#store.createPayment({
      paymentId: req.paymentId,
      id: newPaymentId(),
      transactionId: req.transactionId,
      orderId: req.orderId,
      reference: req.reference,
      merchantName: req.merchantName,
      merchantId: ctx.merchantId,
      method,
      installments: req.installments,
      amount,
      callbackUrl: req.callbackUrl,
      createdAt: now,
      deadlineAt: now + (this.#deadlines.secondsWaiting + this.#deadlines.graceSeconds) * 1000,
      testSuite: ctx.testSuite,
    });
    if (created) {
      this.#onStatusChanged(null, payment.status);
    } else if (
      payment.merchantId !== ctx.merchantId ||
      payment.amount.amountMinor !== amount.amountMinor ||
      payment.amount.currency !== amount.currency ||
      payment.method !== method
    ) {
      throw new CodedError('PPP_PAYMENT_MISMATCH', undefined, {
        details: { paymentId: req.paymentId, stored: formatMoney(payment.amount), given: formatMoney(amount) },
      });
    }
    return { kind: 'payment', payment, created };
  }

  /**
   * Binds a terminal of the payment's merchant to an awaiting payment (submitUrl) and
   * dispatches `payment.start`. Idempotent: the same serial again answers the bound payment.
   * A terminal of another merchant is answered exactly like an unknown one.
   *
   * @throws CodedError `POS_SUBMIT_NOT_FOUND` (no such payment), `POS_PAYMENT_FINAL` (final,
   *   cancelled or expired: the submitUrl no longer works), `POS_ALREADY_BOUND`,
   *   `POS_TERMINAL_UNKNOWN`, `POS_TERMINAL_OFFLINE`, `STORE_FAILED`.
   */
  async bindTerminal(paymentId: string, serialNumber: string): Promise<BindOutcome> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const p = await this.#store.getPayment(paymentId);
      if (!p) throw new CodedError('POS_SUBMIT_NOT_FOUND');
      switch (p.status) {
        case 'approved':
        case 'denied':
        case 'cancelled':
        case 'expired':
        case 'aborting':
        case 'reversing':
        case 'reversal_unknown':
          throw new CodedError('POS_PAYMENT_FINAL', undefined, { details: { paymentId, status: p.status } });
        case 'dispatched':
        case 'accepted':
        case 'unknown':
          if (p.binding?.serialNumber === serialNumber) return { payment: p, bound: false };
          throw new CodedError('POS_ALREADY_BOUND', undefined, { details: { paymentId } });
        case 'awaiting_terminal':
          break;
        default: {
          const never: never = p.status;
          throw new Error(`unhandled status ${String(never)}`);
        }
      }
      const where = await this.presence.locate(serialNumber);
      const owner = where.status === 'unknown' ? null : await this.#store.agentOwner(where.agentId);
      if (where.status === 'unknown' || owner?.merchantId !== p.merchantId) {
        if (owner && owner.merchantId !== p.merchantId) {
          this.#posLog.warn({ paymentId, serialNumber }, 'terminal of another merchant refused');
        }
        throw new CodedError('POS_TERMINAL_UNKNOWN', undefined, { details: { serialNumber } });
      }
      if (where.status === 'offline') throw new CodedError('POS_TERMINAL_OFFLINE', undefined, { details: { serialNumber } });
      const now = this.#now();
      // The wait app starts counting `secondsWaiting` once the terminal is chosen; VTEX itself
      // cancels at `delayToCancel`, so the server must give up a minute before that.
      const deadlineAt = Math.min(
        now + (this.#deadlines.secondsWaiting + this.#deadlines.graceSeconds) * 1000,
        p.createdAt + (this.#deadlines.delayToCancelSeconds - 60) * 1000,
      );
      const event: PaymentEvent = {
        type: 'terminal.bound',
        binding: { serialNumber, agentId: where.agentId, startId: newStartId() },
        deadlineAt,
      };
      // Logged between commit and dispatch so the timeline reads bound → dispatched.
      const result = await this.#tryApply(p, event, () =>
        this.#posLog.info({ paymentId, serialNumber, agentId: where.agentId }, 'terminal bound'),
      );
      if (result) return { payment: result, bound: true };
    }
    throw new CodedError('STORE_FAILED', 'payment changed concurrently too many times', { details: { paymentId } });
  }

  /** The stored payment, or null. */
  getPayment(paymentId: string): Promise<Payment | null> {
    return this.#store.getPayment(paymentId);
  }

  /**
   * Expires every payment whose deadline passed at `now`: one still waiting for a terminal ends
   * `expired` (VTEX is told `denied`); one the terminal works on is aborted there first.
   * @returns how many payments were expired.
   */
  async expireDue(now: number = this.#now()): Promise<number> {
    let count = 0;
    for (;;) {
      const due = await this.#store.listDuePayments(now, 50);
      if (due.length === 0) return count;
      for (const p of due) {
        const r = await this.applyEvent(p.paymentId, (q) =>
          q.deadlineAt !== null && q.deadlineAt <= now ? { type: 'deadline.passed' } : null,
        );
        if (r.applied && r.payment) {
          count++;
          this.#log.info({ paymentId: p.paymentId, from: p.status, status: r.payment.status }, 'payment deadline passed');
        }
      }
      if (due.length < 50) return count;
    }
  }

  /**
   * Resolves an `unknown` payment (or a `reversal_unknown` one: `denied` = the void went
   * through, nothing is charged any more; `approved` = still charged, its cancellation is answered
   * cancel-manually) by an operator's decision, read from the terminal's journal or receipt. The decision (who, why, when) becomes an `operator.resolved` event in the payment's
   * audit log, and the callback to VTEX is enqueued in the same transaction (a payment VTEX
   * cancelled meanwhile gets none: denied ends `cancelled`, approved is left for VTEX's repeated
   * cancellation to reverse). Works against the store alone, so the CLI can run it next to a
   * running server, whose callback worker delivers the callback.
   *
   * @returns the updated payment.
   * @throws CodedError `ADMIN_RESOLVE_REFUSED` when the payment does not exist, is neither
   *   `unknown` nor `reversal_unknown`, or the resolution is out of bounds (an authorization
   *   with a reversal); `STORE_FAILED`.
   * @see docs/ppp.md "Unknown outcomes"; server/README.md "Resolving unknown payments"
   */
  async resolveUnknown(paymentId: string, resolution: OperatorResolution): Promise<Payment> {
    const problem = resolutionProblem(resolution);
    if (problem) throw new CodedError('ADMIN_RESOLVE_REFUSED', problem, { details: { paymentId } });
    const before = await this.#store.getPayment(paymentId);
    const r = await this.applyEvent(paymentId, (p) =>
      p.status === 'unknown' || p.status === 'reversal_unknown'
        ? {
            type: 'operator.resolved',
            outcome: resolution.outcome,
            authorizationId: resolution.authorizationId ?? null,
            operator: resolution.operator.trim(),
            reason: resolution.reason.trim(),
          }
        : null,
    );
    if (!r.payment) throw new CodedError('ADMIN_RESOLVE_REFUSED', `no payment ${JSON.stringify(paymentId)}`, { details: { paymentId } });
    if (!r.applied) {
      throw new CodedError('ADMIN_RESOLVE_REFUSED', `payment ${paymentId} is ${r.payment.status}${r.payment.status === 'reversal_unknown' ? '' : ', not unknown'}${r.reason && r.reason !== 'not applicable' ? ` (${r.reason})` : ''}`, {
        details: { paymentId, status: r.payment.status },
      });
    }
    const p = r.payment;
    this.#log.warn(
      { paymentId, outcome: resolution.outcome, operator: resolution.operator, reason: resolution.reason, status: p.status },
      'unknown payment resolved by an operator',
    );
    if (before?.status === 'reversal_unknown') {
      this.#log.warn(
        { paymentId, serialNumber: p.binding?.serialNumber, status: p.status, authorizationId: p.outcome?.authorizationId },
        p.status === 'approved'
          ? 'reversal resolved as still charged; its cancellation is answered cancel-manually'
          : 'reversal resolved as done; nothing is charged any more',
      );
    } else if (before?.endReason === 'cancelled' && p.status === 'approved') {
      this.#log.warn(
        { paymentId, serialNumber: p.binding?.serialNumber },
        'resolved approved after VTEX cancelled; its next cancellation attempt reverses it on the terminal',
      );
    }
    return p;
  }

  /**
   * Resolves a refund whose terminal outcome is `unknown` by an operator's decision, read from the
   * terminal's journal or receipt: `approved` = refunded (VTEX's retry of the refund is answered
   * 200), `denied` = not refunded (501 `refund-manually`). The decision is the
   * `operation.resolved` event in the payment's events (who, why, when), written with the new
   * operation status in one transaction. Works against the store alone (the CLI runs it next to a
   * running server). Bounded like {@link resolveUnknown}: `operator` 1–64 characters, `reason` 1–500.
   *
   * @returns the updated operation.
   * @throws CodedError `ADMIN_RESOLVE_REFUSED` when the operation does not exist, is not
   *   `unknown`, or the resolution is out of bounds; `STORE_FAILED`.
   * @see docs/ppp.md "Unknown outcomes"; server/README.md "Resolving unknown payments"
   */
  async resolveUnknownOperation(operationId: string, resolution: Omit<OperatorResolution, 'authorizationId'>): Promise<OperationRecord> {
    const problem = resolutionProblem(resolution);
    if (problem) throw new CodedError('ADMIN_RESOLVE_REFUSED', problem, { details: { operationId } });
    const operator = resolution.operator.trim();
    const reason = resolution.reason.trim();
    const op = await this.#store.resolveUnknownOperation({
      operationId,
      status: resolution.outcome,
      message: `${resolution.outcome === 'approved' ? 'refunded' : 'not refunded'} (confirmed by an operator)`,
      operator,
      reason,
      at: this.#now(),
    });
    if (!op) {
      const known = await this.#store.getOperation(operationId);
      throw new CodedError(
        'ADMIN_RESOLVE_REFUSED',
        known ? `operation ${operationId} is ${known.status}, not unknown` : `no operation ${JSON.stringify(operationId)}`,
        { details: { operationId, ...(known ? { status: known.status } : {}) } },
      );
    }
    this.changes.notify(operationId);
    this.#log.warn(
      { paymentId: op.paymentId, operationId, kind: op.kind, outcome: resolution.outcome, operator, reason },
      'unknown operation resolved by an operator',
    );
    return op;
  }

  /** @inheritdoc */
  async onStartAcked(agentId: string, paymentId: string, startId: string): Promise<AgentReportOutcome> {
    const r = await this.applyEvent(paymentId, () => ({ type: 'agent.acked', startId }));
    return this.#report(r, { agentId, paymentId, report: 'ack' });
  }

  /** @inheritdoc */
  async onResult(agentId: string, result: PaymentResult): Promise<AgentReportOutcome> {
    const { paymentId } = result;
    /** The payment as the event was decided on (the last compare-and-set attempt). */
    let seen: Payment | undefined;
    const r = await this.applyEvent(paymentId, (p) => {
      seen = p;
      if (p.binding && p.binding.agentId !== agentId) {
        // A result from an agent the payment is not bound to: the terminal may have charged anyway.
        this.#log.error(
          { paymentId, agentId, boundAgentId: p.binding.agentId, outcome: result.outcome },
          'result from an agent the payment is not bound to',
        );
        return null;
      }
      if (result.amount.currency !== p.amount.currency || result.amount.amountMinor !== p.amount.amountMinor) {
        this.#log.warn(
          { paymentId, expected: formatMoney(p.amount), processed: formatMoney(result.amount) },
          'terminal processed a different amount',
        );
      }
      const outcome: TerminalOutcome = {
        outcome: result.outcome,
        terminalRef: result.terminalRef,
        authorizationId: result.authorizationId ?? null,
        nsu: result.nsu ?? null,
        tid: result.tid ?? null,
        responseCode: result.responseCode ?? null,
        message: result.message ?? null,
        card: result.card ?? null,
        amountMinor: result.amount.amountMinor,
      };
      return { type: 'result.received', outcome };
    });
    if (r.applied && r.payment) {
      this.#log.info({ paymentId, status: r.payment.status, outcome: result.outcome }, 'payment outcome recorded');
    }
    const before = seen;
    if (before && (before.status === 'approved' || before.status === 'denied')) {
      // The terminal contradicts what VTEX was told (an operator's resolution of an unknown
      // outcome, or a confused terminal): money may be taken for a denied order or missing for an
      // approved one. An approval after `denied` is reversed (machine); the rest needs a person.
      const recorded = before.outcome?.outcome;
      if (recorded !== undefined && recorded !== result.outcome && result.outcome !== 'unknown') {
        this.#log.error(
          { paymentId, status: before.status, recorded, reported: result.outcome, terminalRef: result.terminalRef, applied: r.applied },
          'terminal result contradicts the recorded outcome',
        );
      }
    }
    return this.#report(r, { agentId, paymentId, report: 'result' });
  }

  /** @inheritdoc */
  async onRejected(agentId: string, rejected: PaymentRejected): Promise<AgentReportOutcome> {
    const { paymentId } = rejected;
    const r = await this.applyEvent(paymentId, (p) =>
      p.binding && p.binding.agentId !== agentId
        ? null
        : {
            type: 'start.rejected',
            code: rejected.code,
            message: rejected.message,
            ...(rejected.startId !== undefined ? { startId: rejected.startId } : {}),
          },
    );
    if (r.applied && r.payment?.status === 'awaiting_terminal') {
      this.#log.info({ paymentId, code: rejected.code }, 'payment rejected by terminal; awaiting another terminal');
    } else if (r.applied && r.payment) {
      this.#log.info({ paymentId, code: rejected.code, status: r.payment.status }, 'aborted payment was never started by the agent; nothing charged');
    }
    return this.#report(r, { agentId, paymentId, report: 'rejected' });
  }

  /** @inheritdoc */
  async onOperationResult(agentId: string, result: OperationResult): Promise<AgentReportOutcome> {
    const { paymentId, operationId } = result;
    switch (result.kind) {
      case 'void': {
        const r = await this.applyEvent(paymentId, (p) =>
          voidIdOf(p) === operationId ? { type: 'void.result', outcome: result.outcome, message: result.message ?? null } : null,
        );
        if (r.applied && r.payment) {
          this.#log.info({ paymentId, operationId, outcome: result.outcome, status: r.payment.status }, 'reversal outcome recorded');
        }
        return this.#report(r, { agentId, paymentId, report: 'void' });
      }
      case 'refund': {
        if (isBusyRefusal(result)) {
          // The terminal never ran it: not a refusal of the refund. The waiting request answers a
          // retryable 500 and VTEX's repeat is a new attempt (never refund-manually for a busy terminal).
          const released = await this.#store.releaseOperation(operationId);
          this.changes.notify(operationId);
          if (released) {
            this.#log.warn({ paymentId, operationId, agentId }, 'refund not taken: terminal busy; VTEX repeats the request');
            return 'applied';
          }
        }
        const op = await this.#store.setOperationOutcome(operationId, {
          status: result.outcome,
          terminalRef: result.terminalRef,
          authorizationId: result.authorizationId ?? null,
          nsu: result.nsu ?? null,
          responseCode: result.responseCode ?? null,
          message: result.message ?? null,
          at: this.#now(),
        });
        this.changes.notify(operationId);
        if (!op) {
          const known = await this.#store.getOperation(operationId);
          if (known && known.status !== result.outcome && result.outcome !== 'unknown') {
            // An operator's resolution (or a confused terminal) contradicts the terminal: the
            // customer may be refunded twice or not at all; needs a person.
            this.#log.error(
              { paymentId, operationId, recorded: known.status, reported: result.outcome, terminalRef: result.terminalRef },
              'terminal refund result contradicts the recorded outcome',
            );
          }
          this.#log.info({ paymentId, operationId, agentId, status: known?.status }, 'refund result ignored');
          return known ? 'ignored' : 'unknown_payment';
        }
        if (result.outcome === 'unknown') {
          // The alert of an uncertain refund: stable message, counted in posbridge_operations_unknown.
          this.#log.error(
            { paymentId, operationId, serialNumber: op.serialNumber, terminalRef: result.terminalRef, detail: result.message },
            'refund outcome unknown; resolve it with posbridge-server operation resolve',
          );
        } else {
          this.#log.info({ paymentId, operationId, outcome: result.outcome }, 'refund outcome recorded');
        }
        return 'applied';
      }
      default: {
        const never: never = result.kind;
        throw new Error(`unhandled operation kind ${String(never)}`);
      }
    }
  }

  /** @inheritdoc */
  async onProgress(agentId: string, progress: PaymentProgress): Promise<void> {
    const found = await this.#store.setProgressStage(progress.paymentId, progress.stage, this.#now());
    if (!found) this.#log.warn({ paymentId: progress.paymentId, agentId }, 'progress for an unknown payment');
    else this.changes.notify(progress.paymentId);
  }

  /** @inheritdoc */
  async onBoundAgentReplaced(paymentId: string, ownerAgentId: string): Promise<void> {
    const r = await this.applyEvent(paymentId, (p) =>
      p.binding && p.binding.agentId !== ownerAgentId
        ? {
            type: 'terminal.moved',
            outcome: {
              outcome: 'unknown',
              terminalRef: '',
              authorizationId: null,
              nsu: null,
              tid: null,
              responseCode: null,
              message: `terminal ${p.binding.serialNumber} moved to agent ${ownerAgentId} before agent ${p.binding.agentId} reported the sale`,
              card: null,
              amountMinor: p.amount.amountMinor,
            },
          }
        : null,
    );
    if (r.applied && r.payment) {
      this.#log.warn(
        { paymentId, serialNumber: r.payment.binding?.serialNumber, boundAgentId: r.payment.binding?.agentId, ownerAgentId },
        'terminal moved away from the agent running the sale; outcome unknown',
      );
    }
  }

  #report(r: ApplyOutcome, ctx: { agentId: string; paymentId: string; report: string }): AgentReportOutcome {
    if (!r.payment) {
      this.#log.warn(ctx, 'agent report for an unknown payment');
      return 'unknown_payment';
    }
    if (!r.applied) {
      this.#log.info({ ...ctx, status: r.payment.status, reason: r.reason }, 'agent report ignored');
      return 'ignored';
    }
    return 'applied';
  }

  /**
   * Re-reads the payment and applies `makeEvent` until the compare-and-set succeeds.
   * `makeEvent` returning null ignores the call. It may be async to read more of the store: it
   * runs after the payment was read, so anything it reads that bumps the payment's version when
   * it changes (settlements) is consistent with the compare-and-set.
   * @throws CodedError `STORE_FAILED` when the payment keeps changing underneath.
   */
  async applyEvent(
    paymentId: string,
    makeEvent: (p: Payment) => PaymentEvent | null | Promise<PaymentEvent | null>,
  ): Promise<ApplyOutcome> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const p = await this.#store.getPayment(paymentId);
      if (!p) return { payment: null, applied: false };
      const event = await makeEvent(p);
      if (!event) return { payment: p, applied: false, reason: 'not applicable' };
      const { effects } = transition(p, event, this.#now());
      const ignored = effects.find((e) => e.type === 'ignored');
      if (ignored) return { payment: p, applied: false, reason: ignored.reason };
      const updated = await this.#tryApply(p, event);
      if (updated) return { payment: updated, applied: true };
    }
    throw new CodedError('STORE_FAILED', 'payment changed concurrently too many times', { details: { paymentId } });
  }

  async #callbackModeOf(merchantId: string): Promise<CallbackMode> {
    return (await this.#store.getMerchant(merchantId))?.callbackMode ?? 'notification';
  }

  /**
   * One compare-and-set attempt: transition, persist with every effect as a row in the same
   * transaction (the callback if final; the agent commands it opens and closes:
   * ./command-rows.ts), then wake their deliverers.
   * @returns the updated payment, or null when it moved on meanwhile or the event was ignored.
   */
  async #tryApply(p: Payment, event: PaymentEvent, onCommitted?: (updated: Payment) => void): Promise<Payment | null> {
    const now = this.#now();
    const { state, effects } = transition(p, event, now);
    if (effects.some((e) => e.type === 'ignored')) return null;
    const enqueue = effects.find((e) => e.type === 'enqueue_callback');
    const prospective: Payment = { ...p, ...state };
    const mode = enqueue ? await this.#callbackModeOf(p.merchantId) : 'notification';
    const updated = await this.#store.applyTransition({
      paymentId: p.paymentId,
      expectedVersion: p.version,
      expectedStatus: p.status,
      next: state,
      event,
      at: now,
      commands: commandWritesOf(p, prospective, event, effects),
      ...(enqueue
        ? {
            callback: {
              url: p.callbackUrl,
              // Retry mode: an empty POST makes VTEX call Create Payment again (ppp-pos.md §6.3).
              body: mode === 'retry' ? '' : JSON.stringify(callbackBody(prospective, this.#settings)),
              status: enqueue.status,
              // Retried until VTEX stops waiting for this payment (its delayToCancel), at least a minute.
              expiresAt: Math.max(p.createdAt + this.#deadlines.delayToCancelSeconds * 1000, now + 60_000),
            },
          }
        : {}),
    });
    if (!updated) return null;
    this.#log.debug({ paymentId: p.paymentId, from: p.status, to: updated.status, event: event.type }, 'payment state changed');
    if (p.status !== updated.status) this.#onStatusChanged(p.status, updated.status);
    onCommitted?.(updated);
    await this.#runEffects(updated, effects);
    this.changes.notify(p.paymentId);
    return updated;
  }

  /**
   * Wakes delivery of the commands just committed for `serialNumber`, and says where the
   * terminal stands (for the "deferred" warnings; delivery does not depend on it).
   */
  async #wakeFor(serialNumber: string | undefined): Promise<'online' | 'offline' | 'unknown_terminal'> {
    if (serialNumber === undefined) return 'unknown_terminal';
    this.#wake([serialNumber]);
    if (!this.#presence) return 'offline';
    const where = await this.#presence.locate(serialNumber);
    return where.status === 'unknown' ? 'unknown_terminal' : where.status;
  }

  async #runEffects(p: Payment, effects: readonly PaymentEffect[]): Promise<void> {
    for (const effect of effects) {
      switch (effect.type) {
        case 'send_start': {
          const outcome = await this.#wakeFor(effect.binding.serialNumber);
          if (outcome !== 'online') {
            this.#log.warn(
              { paymentId: p.paymentId, serialNumber: effect.binding.serialNumber, outcome },
              'payment start deferred until the agent reconnects',
            );
          }
          break;
        }
        case 'stop_resend':
          // The start's row was closed in the same transaction (./command-rows.ts).
          break;
        case 'send_abort': {
          this.#log.info({ paymentId: p.paymentId, reason: effect.reason }, 'aborting the payment on the terminal');
          const outcome = await this.#wakeFor(p.binding?.serialNumber);
          if (outcome !== 'online') {
            this.#log.warn({ paymentId: p.paymentId, outcome }, 'payment abort deferred until the agent reconnects');
          }
          break;
        }
        case 'start_void': {
          if (effect.late) {
            this.#log.warn(
              { paymentId: p.paymentId, reason: p.endReason, authorizationId: p.outcome?.authorizationId },
              'late approval after cancellation or expiry; reversing it on the terminal',
            );
          } else {
            this.#log.info({ paymentId: p.paymentId }, 'reversing the approval on the terminal');
          }
          const outcome = await this.#wakeFor(p.binding?.serialNumber);
          if (outcome !== 'online') {
            this.#log.warn({ paymentId: p.paymentId, outcome }, 'reversal deferred until the agent reconnects');
          }
          break;
        }
        case 'enqueue_callback':
          this.#onCallbackEnqueued();
          break;
        case 'outcome_unknown':
          // The alert of an uncertain payment (`unknown`) or reversal (`reversal_unknown`): stable
          // message, counted in posbridge_payments_unknown.
          this.#log.error(
            {
              paymentId: p.paymentId,
              status: p.status,
              serialNumber: p.binding?.serialNumber,
              terminalRef: p.outcome?.terminalRef,
              detail: p.outcome?.message,
              cancelRequested: p.endReason === 'cancelled',
            },
            'payment outcome unknown; resolve it with posbridge-server payment resolve',
          );
          break;
        case 'reversal_failed':
          this.#log.error(
            { paymentId: p.paymentId, serialNumber: p.binding?.serialNumber, reason: p.endReason },
            'the terminal could not reverse the approval; the payment stays approved and needs a person',
          );
          break;
        case 'ignored':
          break;
        default: {
          const never: never = effect;
          throw new Error(`unhandled effect ${JSON.stringify(never)}`);
        }
      }
    }
  }
}

const AUTHORIZATION_PATTERN = /^[A-Za-z0-9._/-]{1,64}$/;

/** Why `r` is out of bounds, or null. */
function resolutionProblem(r: OperatorResolution): string | null {
  if (r.outcome !== 'approved' && r.outcome !== 'denied') return 'outcome must be approved or denied';
  const reason = r.reason.trim();
  if (reason.length === 0 || reason.length > 500) return 'reason must be 1–500 characters';
  const operator = r.operator.trim();
  if (operator.length === 0 || operator.length > 64) return 'operator must be 1–64 characters';
  if (r.authorizationId !== undefined) {
    if (r.outcome !== 'approved') return 'an authorization only goes with outcome approved';
    if (!AUTHORIZATION_PATTERN.test(r.authorizationId)) return 'authorization must be 1–64 of A-Z a-z 0-9 . _ / -';
  }
  return null;
}

/**
 * True when an agent refused an operation because its terminal was busy (nothing ran on the
 * terminal): `code: "TERM_BUSY"`, or the `TERM_BUSY: …` message of agents that predate the
 * `code` field (docs/protocol/ws.md).
 */
function isBusyRefusal(result: OperationResult): boolean {
  if (result.outcome !== 'denied') return false;
  return result.code === 'TERM_BUSY' || (result.code === undefined && (result.message ?? '').startsWith('TERM_BUSY:'));
}
