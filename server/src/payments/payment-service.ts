/**
 * The payment service: the one place a payment changes state. Every state change goes through the
 * pure machine (../domain/payment-machine.ts) and is persisted with a compare-and-set, with the rows
 * of its effects (callback, agent commands: ./command-rows.ts) in the same transaction; after the
 * commit the service only wakes their deliverers. The use cases live in their own modules and change payments through
 * {@link PaymentService.applyEvent}: create (./create-payment.ts, idempotent by paymentId, per
 * merchant), bind a terminal (./bind-terminal.ts, submitUrl), expire payments at their deadline
 * (./expire.ts), an operator's resolution of an unknown outcome (./resolve-unknown.ts), and what
 * agents report (./agent-reports.ts). This class is their facade for the routers, the CLI and the
 * hub.
 *
 * Follow-up requests (cancellations, settlements, refunds) live in ./operation-service.ts and
 * change payments through {@link PaymentService.applyEvent}.
 *
 * @see docs/ppp.md
 */
import type { Logger } from 'pino';
import { CodedError } from '@posbridge/protocol/errors';
import type { CreatePaymentRequest } from '@posbridge/protocol/ppp';
import type { OperationResult, PaymentProgress, PaymentRejected, PaymentResult } from '@posbridge/protocol/ws';
import {
  transition,
  type PaymentEffect,
  type PaymentEvent,
  type PaymentStatus,
} from '../domain/payment-machine.ts';
import { callbackBody, type PppAnswerSettings } from '../domain/ppp-outcome.ts';
import type { AgentEventHandler, AgentReportOutcome } from '../ports/agent-events.ts';
import type { ChangeFeed } from '../ports/change-feed.ts';
import type { Presence } from '../ports/presence.ts';
import type { CallbackMode, NewAuditEntry, OperationRecord, Payment, PaymentStore } from '../ports/index.ts';
import {
  onBoundAgentReplaced,
  onOperationResult,
  onProgress,
  onRejected,
  onResult,
  onStartAcked,
} from './agent-reports.ts';
import { bindTerminal, type BindOutcome } from './bind-terminal.ts';
import { commandWritesOf } from './command-rows.ts';
import { createPayment, type CreateContext, type CreatePaymentOutcome } from './create-payment.ts';
import { expireDue, type ExpireDueOptions } from './expire.ts';
import { MAX_CAS_ATTEMPTS, type ApplyOutcome, type DeadlineSettings, type PaymentCore } from './payment-core.ts';
import { VIRTUAL_SERIAL_PREFIX } from '../testsuite/virtual-terminal.ts';
import { resolveUnknown, resolveUnknownOperation, type OperatorResolution } from './resolve-unknown.ts';

/** Options of {@link PaymentService}. */
export interface PaymentServiceOptions {
  readonly store: PaymentStore;
  readonly logger: Logger;
  readonly settings: PppAnswerSettings;
  readonly deadlines: DeadlineSettings;
  /**
   * Wakes request handlers waiting on a payment (key: paymentId) or an operation (key:
   * operationId): notified after every committed change of either.
   */
  readonly changes: ChangeFeed;
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

/** Statuses in which the terminal may be working on the payment (a terminal is busy). */
export const BUSY_STATUSES: readonly PaymentStatus[] = ['dispatched', 'accepted', 'unknown', 'aborting', 'reversing', 'reversal_unknown'];

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
  readonly #changes: ChangeFeed;
  readonly #presence: Presence | undefined;
  readonly #wake: (serialNumbers: readonly string[]) => void;
  /** The service as its use cases see it (./payment-core.ts), built once. */
  readonly #core: PaymentCore;

  constructor(options: PaymentServiceOptions) {
    this.#store = options.store;
    this.#log = options.logger.child({ component: 'payments' });
    this.#posLog = options.logger.child({ component: 'pos' });
    this.#settings = options.settings;
    this.#deadlines = options.deadlines;
    this.#changes = options.changes;
    this.#now = options.now ?? Date.now;
    this.#onCallbackEnqueued = options.onCallbackEnqueued ?? (() => undefined);
    this.#onStatusChanged = options.onStatusChanged ?? (() => undefined);
    this.#presence = options.presence;
    this.#wake = options.wake ?? (() => undefined);
    this.#core = {
      store: this.#store,
      log: this.#log,
      posLog: this.#posLog,
      deadlines: this.#deadlines,
      now: this.#now,
      onStatusChanged: this.#onStatusChanged,
      changes: this.#changes,
      presence: () => this.presence,
      applyEvent: (paymentId, makeEvent, audit) => this.applyEvent(paymentId, makeEvent, audit),
      tryApply: (p, event, onCommitted) => this.#tryApply(p, event, onCommitted),
    };
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

  /** Create Payment: {@link createPayment} (./create-payment.ts). */
  createPayment(req: CreatePaymentRequest, ctx: CreateContext): Promise<CreatePaymentOutcome> {
    return createPayment(this.#core, req, ctx);
  }

  /** Binds a terminal (submitUrl): {@link bindTerminal} (./bind-terminal.ts). */
  bindTerminal(paymentId: string, serialNumber: string): Promise<BindOutcome> {
    return bindTerminal(this.#core, paymentId, serialNumber);
  }

  /** The stored payment, or null. */
  getPayment(paymentId: string): Promise<Payment | null> {
    return this.#store.getPayment(paymentId);
  }

  /**
   * Expires the payments due at `options.now` (default: the service clock) that no other
   * instance holds: {@link expireDue} (./expire.ts).
   */
  expireDue(options?: ExpireDueOptions): Promise<number> {
    return expireDue(this.#core, options);
  }

  /** An operator resolves an unknown payment, `audit` committed with it: {@link resolveUnknown} (./resolve-unknown.ts). */
  resolveUnknown(paymentId: string, resolution: OperatorResolution, audit?: NewAuditEntry): Promise<Payment> {
    return resolveUnknown(this.#core, paymentId, resolution, audit);
  }

  /** An operator resolves an unknown refund, `audit` committed with it: {@link resolveUnknownOperation} (./resolve-unknown.ts). */
  resolveUnknownOperation(operationId: string, resolution: Omit<OperatorResolution, 'authorizationId'>, audit?: NewAuditEntry): Promise<OperationRecord> {
    return resolveUnknownOperation(this.#core, operationId, resolution, audit);
  }

  /** @inheritdoc (./agent-reports.ts) */
  onStartAcked(agentId: string, paymentId: string, startId: string): Promise<AgentReportOutcome> {
    return onStartAcked(this.#core, agentId, paymentId, startId);
  }

  /** @inheritdoc (./agent-reports.ts) */
  onResult(agentId: string, result: PaymentResult): Promise<AgentReportOutcome> {
    return onResult(this.#core, agentId, result);
  }

  /** @inheritdoc (./agent-reports.ts) */
  onRejected(agentId: string, rejected: PaymentRejected): Promise<AgentReportOutcome> {
    return onRejected(this.#core, agentId, rejected);
  }

  /** @inheritdoc (./agent-reports.ts) */
  onOperationResult(agentId: string, result: OperationResult): Promise<AgentReportOutcome> {
    return onOperationResult(this.#core, agentId, result);
  }

  /** @inheritdoc (./agent-reports.ts) */
  onProgress(agentId: string, progress: PaymentProgress): Promise<void> {
    return onProgress(this.#core, agentId, progress);
  }

  /** @inheritdoc (./agent-reports.ts) */
  onBoundAgentReplaced(paymentId: string, ownerAgentId: string): Promise<void> {
    return onBoundAgentReplaced(this.#core, paymentId, ownerAgentId);
  }

  /**
   * Re-reads the payment and applies `makeEvent` until the compare-and-set succeeds.
   * `makeEvent` returning null ignores the call. It may be async to read more of the store: it
   * runs after the payment was read, so anything it reads that bumps the payment's version when
   * it changes (settlements) is consistent with the compare-and-set. `audit` (an operator's admin
   * audit row) is written in the transaction of the change, and not at all when nothing changes.
   * @throws CodedError `STORE_FAILED` when the payment keeps changing underneath.
   */
  async applyEvent(
    paymentId: string,
    makeEvent: (p: Payment) => PaymentEvent | null | Promise<PaymentEvent | null>,
    audit?: NewAuditEntry,
  ): Promise<ApplyOutcome> {
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const p = await this.#store.getPayment(paymentId);
      if (!p) return { payment: null, applied: false };
      const event = await makeEvent(p);
      if (!event) return { payment: p, applied: false, reason: 'not applicable' };
      const { effects } = transition(p, event, this.#now());
      const ignored = effects.find((e) => e.type === 'ignored');
      if (ignored) return { payment: p, applied: false, reason: ignored.reason };
      const updated = await this.#tryApply(p, event, undefined, audit);
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
  async #tryApply(p: Payment, event: PaymentEvent, onCommitted?: (updated: Payment) => void, audit?: NewAuditEntry): Promise<Payment | null> {
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
      ...(audit ? { audit } : {}),
      ...(enqueue
        ? {
            callback: {
              url: p.callbackUrl,
              // Retry mode: an empty POST makes VTEX call Create Payment again (docs/protocol/vtex-ppp.md §6.3).
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
    this.#changes.notify(p.paymentId);
    return updated;
  }

  /**
   * Wakes delivery of the commands just committed for `serialNumber`, and says where the
   * terminal stands (for the "deferred" warnings; delivery does not depend on it).
   */
  async #wakeFor(serialNumber: string | undefined): Promise<'online' | 'offline' | 'unknown_terminal'> {
    if (serialNumber === undefined) return 'unknown_terminal';
    this.#wake([serialNumber]);
    // A virtual terminal (docs/homologation.md) has no session: its in-process agent is woken like delivery.
    if (serialNumber.startsWith(VIRTUAL_SERIAL_PREFIX)) return 'online';
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
