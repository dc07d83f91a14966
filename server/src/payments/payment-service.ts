/**
 * The payment use cases: create (idempotent by paymentId), bind a terminal (submitUrl), and
 * apply what agents report. Every state change goes through the pure machine
 * (./payment-machine.ts) and is persisted with a compare-and-set; effects run only after the
 * store committed.
 *
 * @see ../../../../shared/spec/ppp-pos.md §2, §4.2 (idempotency), §5
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { CodedError } from '@posbridge/protocol/errors';
import { formatMoney, moneyFromDecimal } from '@posbridge/protocol/money';
import type { CreatePaymentRequest } from '@posbridge/protocol/ppp';
import type { PaymentProgress, PaymentRejected, PaymentResult } from '@posbridge/protocol/ws';
import type {
  AgentDispatcher,
  AgentEventHandler,
  AgentReportOutcome,
  StartOrder,
} from '../hub/agent-dispatcher.ts';
import { callbackBody, methodKindOf, type PppAnswerSettings } from '../ppp/mappers.ts';
import type { Payment, PaymentStore } from '../store/store.ts';
import { transition, type PaymentEffect, type PaymentEvent, type TerminalOutcome } from './payment-machine.ts';

/** Options of {@link PaymentService}. */
export interface PaymentServiceOptions {
  readonly store: PaymentStore;
  readonly logger: Logger;
  readonly settings: PppAnswerSettings;
  /** Clock, ms since epoch. @default Date.now */
  readonly now?: () => number;
  /** Called after a callback was enqueued (wakes the callback worker). */
  readonly onCallbackEnqueued?: () => void;
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

interface ApplyOutcome {
  readonly payment: Payment | null;
  readonly applied: boolean;
  readonly reason?: string;
}

const MAX_CAS_ATTEMPTS = 8;

/** posbridge's own id of a payment, reported as `tid`. */
function newPaymentId(): string {
  return `pb_${randomUUID().replaceAll('-', '')}`;
}

/** Message id of a `payment.start`. */
function newStartId(): string {
  return `st_${randomUUID().replaceAll('-', '')}`;
}

/** Payment use cases. Also the hub's {@link AgentEventHandler}. */
export class PaymentService implements AgentEventHandler {
  readonly #store: PaymentStore;
  readonly #log: Logger;
  readonly #posLog: Logger;
  readonly #settings: PppAnswerSettings;
  readonly #now: () => number;
  readonly #onCallbackEnqueued: () => void;
  #dispatcher: AgentDispatcher | undefined;

  constructor(options: PaymentServiceOptions) {
    this.#store = options.store;
    this.#log = options.logger.child({ component: 'payments' });
    this.#posLog = options.logger.child({ component: 'pos' });
    this.#settings = options.settings;
    this.#now = options.now ?? Date.now;
    this.#onCallbackEnqueued = options.onCallbackEnqueued ?? (() => undefined);
  }

  /** Connects the dispatcher (the hub is built after the service, since each refers to the other). */
  setDispatcher(dispatcher: AgentDispatcher): void {
    this.#dispatcher = dispatcher;
  }

  #requireDispatcher(): AgentDispatcher {
    if (!this.#dispatcher) throw new Error('PaymentService used before setDispatcher()');
    return this.#dispatcher;
  }

  /**
   * Create Payment: creates the payment once per `paymentId` and returns the stored one.
   * A method other than Venda Direta is not stored (`unsupported_method`, answered `denied`).
   *
   * @throws CodedError `MONEY_UNKNOWN_CURRENCY` / `MONEY_INVALID_AMOUNT` (400);
   *   `PPP_PAYMENT_MISMATCH` when the paymentId exists with another amount, currency or method;
   *   `STORE_FAILED`.
   * @see ppp-pos.md §4.2 "Idempotency"
   */
  async createPayment(req: CreatePaymentRequest): Promise<CreatePaymentOutcome> {
    const method = methodKindOf(req.paymentMethod);
    if (!method) return { kind: 'unsupported_method' };
    const amount = moneyFromDecimal(req.value, req.currency);
    const { payment, created } = await this.#store.createPayment({
      paymentId: req.paymentId,
      id: newPaymentId(),
      transactionId: req.transactionId,
      orderId: req.orderId,
      reference: req.reference,
      merchantName: req.merchantName,
      method,
      installments: req.installments,
      amount,
      callbackUrl: req.callbackUrl,
      createdAt: this.#now(),
    });
    if (!created) {
      if (
        payment.amount.amountMinor !== amount.amountMinor ||
        payment.amount.currency !== amount.currency ||
        payment.method !== method
      ) {
        throw new CodedError('PPP_PAYMENT_MISMATCH', undefined, {
          details: { paymentId: req.paymentId, stored: formatMoney(payment.amount), given: formatMoney(amount) },
        });
      }
    }
    return { kind: 'payment', payment, created };
  }

  /**
   * Binds a terminal to an awaiting payment (submitUrl) and dispatches `payment.start`.
   * Idempotent: the same serial again answers the bound payment.
   *
   * @throws CodedError `POS_SUBMIT_NOT_FOUND` (no such payment), `POS_PAYMENT_FINAL`,
   *   `POS_ALREADY_BOUND`, `POS_TERMINAL_UNKNOWN`, `POS_TERMINAL_OFFLINE`, `STORE_FAILED`.
   */
  async bindTerminal(paymentId: string, serialNumber: string): Promise<BindOutcome> {
    const dispatcher = this.#requireDispatcher();
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const p = await this.#store.getPayment(paymentId);
      if (!p) throw new CodedError('POS_SUBMIT_NOT_FOUND');
      switch (p.status) {
        case 'approved':
        case 'denied':
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
      const where = await dispatcher.lookupTerminal(serialNumber);
      if (where.status === 'unknown') throw new CodedError('POS_TERMINAL_UNKNOWN', undefined, { details: { serialNumber } });
      if (where.status === 'offline') throw new CodedError('POS_TERMINAL_OFFLINE', undefined, { details: { serialNumber } });
      const event: PaymentEvent = {
        type: 'terminal.bound',
        binding: { serialNumber, agentId: where.agentId, startId: newStartId() },
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

  /** @inheritdoc */
  async onStartAcked(agentId: string, paymentId: string, startId: string): Promise<AgentReportOutcome> {
    const r = await this.#apply(paymentId, () => ({ type: 'agent.acked', startId }));
    return this.#report(r, { agentId, paymentId, report: 'ack' });
  }

  /** @inheritdoc */
  async onResult(agentId: string, result: PaymentResult): Promise<AgentReportOutcome> {
    const { paymentId } = result;
    const r = await this.#apply(paymentId, (p) => {
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
    return this.#report(r, { agentId, paymentId, report: 'result' });
  }

  /** @inheritdoc */
  async onRejected(agentId: string, rejected: PaymentRejected): Promise<AgentReportOutcome> {
    const { paymentId } = rejected;
    const r = await this.#apply(paymentId, (p) =>
      p.binding && p.binding.agentId !== agentId
        ? null
        : { type: 'start.rejected', code: rejected.code, message: rejected.message },
    );
    if (r.applied) {
      this.#log.info({ paymentId, code: rejected.code }, 'payment rejected by terminal; awaiting another terminal');
    }
    return this.#report(r, { agentId, paymentId, report: 'rejected' });
  }

  /** @inheritdoc */
  async onProgress(agentId: string, progress: PaymentProgress): Promise<void> {
    const found = await this.#store.setProgressStage(progress.paymentId, progress.stage, this.#now());
    if (!found) this.#log.warn({ paymentId: progress.paymentId, agentId }, 'progress for an unknown payment');
  }

  /** @inheritdoc */
  async pendingStarts(serialNumbers: readonly string[]): Promise<StartOrder[]> {
    const payments = await this.#store.listBoundPayments('dispatched', serialNumbers);
    return payments.flatMap((p) => (p.binding ? [startOrderOf(p)] : []));
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

  /** Re-reads and applies `makeEvent` until the compare-and-set succeeds. `null` event = ignore. */
  async #apply(paymentId: string, makeEvent: (p: Payment) => PaymentEvent | null): Promise<ApplyOutcome> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const p = await this.#store.getPayment(paymentId);
      if (!p) return { payment: null, applied: false };
      const event = makeEvent(p);
      if (!event) return { payment: p, applied: false, reason: 'report from another agent' };
      const { effects } = transition(p, event, this.#now());
      const ignored = effects.find((e) => e.type === 'ignored');
      if (ignored) return { payment: p, applied: false, reason: ignored.reason };
      const updated = await this.#tryApply(p, event);
      if (updated) return { payment: updated, applied: true };
    }
    throw new CodedError('STORE_FAILED', 'payment changed concurrently too many times', { details: { paymentId } });
  }

  /**
   * One compare-and-set attempt: transition, persist (with the callback if final), run effects.
   * @returns the updated payment, or null when it moved on meanwhile or the event was ignored.
   */
  async #tryApply(p: Payment, event: PaymentEvent, onCommitted?: (updated: Payment) => void): Promise<Payment | null> {
    const now = this.#now();
    const { state, effects } = transition(p, event, now);
    if (effects.some((e) => e.type === 'ignored')) return null;
    const enqueue = effects.find((e) => e.type === 'enqueue_callback');
    const prospective: Payment = { ...p, ...state };
    const updated = await this.#store.applyTransition({
      paymentId: p.paymentId,
      expectedVersion: p.version,
      expectedStatus: p.status,
      next: state,
      event,
      at: now,
      ...(enqueue
        ? {
            callback: {
              url: p.callbackUrl,
              body: JSON.stringify(callbackBody(prospective, this.#settings)),
              status: enqueue.status,
            },
          }
        : {}),
    });
    if (!updated) return null;
    this.#log.debug({ paymentId: p.paymentId, from: p.status, to: updated.status, event: event.type }, 'payment state changed');
    onCommitted?.(updated);
    await this.#runEffects(updated, effects);
    return updated;
  }

  async #runEffects(p: Payment, effects: readonly PaymentEffect[]): Promise<void> {
    for (const effect of effects) {
      switch (effect.type) {
        case 'send_start': {
          const outcome = await this.#requireDispatcher().dispatch(startOrderOf(p));
          if (outcome !== 'sent') {
            this.#log.warn(
              { paymentId: p.paymentId, serialNumber: effect.binding.serialNumber, outcome },
              'payment start deferred until the agent reconnects',
            );
          }
          break;
        }
        case 'stop_resend':
          this.#dispatcher?.cancelResend(effect.startId);
          break;
        case 'enqueue_callback':
          this.#onCallbackEnqueued();
          break;
        case 'outcome_unknown':
          this.#log.warn(
            { paymentId: p.paymentId, serialNumber: p.binding?.serialNumber },
            'terminal outcome unknown; payment stays undefined until resolved',
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

/** The `payment.start` order of a bound payment. */
function startOrderOf(p: Payment): StartOrder {
  if (!p.binding) throw new Error(`payment ${p.paymentId} is not bound`);
  return {
    paymentId: p.paymentId,
    startId: p.binding.startId,
    serialNumber: p.binding.serialNumber,
    amount: p.amount,
    method: p.method,
    installments: p.installments,
  };
}
