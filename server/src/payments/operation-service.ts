/**
 * VTEX follow-up requests on a payment: cancellations, settlements and refunds.
 *
 * Idempotency is a store invariant: each request is recorded once per
 * (`paymentId`, kind, `requestId`) and its final answer is stored with it, so a repeat (or a
 * concurrent duplicate) gets the same answer. Amount rules are enforced inside the same store
 * transaction: Σ settled ≤ authorized, Σ refunds ≤ Σ settled.
 *
 * No handler waits on a terminal longer than `answerBudgetMs`: when the terminal has not
 * answered by then, the request is answered 500 `PPP_OPERATION_PENDING` (nothing stored), and
 * VTEX's retry with the same `requestId` picks up the outcome.
 *
 * | request | payment state | what happens | answer |
 * |---|---|---|---|
 * | cancel | awaiting_terminal | `cancelled` at once; the submitUrl stops working | 200 |
 * | cancel | dispatched / accepted | `payment.abort` to the agent; an approval anyway is voided | 200 once stopped |
 * | cancel | unknown | recorded on the payment, which stays flagged until resolved; `payment.abort` to the agent | 500 `PPP_OUTCOME_UNKNOWN` at once |
 * | cancel | reversal_unknown (the void's answer was lost) | nothing; flagged until the terminal or an operator resolves it | 500 `PPP_OUTCOME_UNKNOWN` at once |
 * | cancel | approved, not settled, agent online | `operation.start` void | 200 once voided |
 * | cancel | approved, agent offline or settled, or the void denied (or resolved still charged) | nothing | 501 `cancel-manually` |
 * | cancel | denied / cancelled / expired | nothing (nothing was charged) | 200 |
 * | settle | approved | recorded (partial allowed) | 200 |
 * | settle / refund | being cancelled or cancelled by VTEX | nothing | 500 `PPP_PAYMENT_CANCELLED` |
 * | refund | approved + settled, agent online | `operation.start` refund | 200 once refunded |
 * | refund | agent offline, or refund denied on the terminal | nothing | 501 `refund-manually` |
 * | refund | terminal busy: queued on the agent | runs when the terminal is free | 500 `PPP_OPERATION_PENDING` until then |
 * | refund | its outcome is unknown on the terminal | flagged until the terminal or an operator (`operation resolve`) resolves it | 500 `PPP_OUTCOME_UNKNOWN` at once; then 200 or 501 `refund-manually` |
 * | refund | refused by an agent as busy (older agents) | released, nothing stored | 500 `PPP_TERMINAL_BUSY`; the repeat retries |
 *
 * Cancel and settle are serialised on the payment row: a settlement bumps the payment's version
 * (store), and a cancellation's decision to void reads the totals after the payment inside the
 * compare-and-set loop, so only one of them can win (docs/ppp.md "Concurrent requests").
 *
 * @see docs/ppp.md "Cancellation", "Idempotency and amounts", "Concurrent requests" (VTEX's
 *   Payment Provider Protocol: cancellations, settlements, refunds and their failure shapes)
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { ERROR_CODES } from '@posbridge/protocol/errors';
import { moneyFromDecimal, moneyToDecimal } from '@posbridge/protocol/money';
import type {
  CancellationResponse,
  CancelPaymentRequest,
  RefundPaymentRequest,
  RefundResponse,
  SettlementResponse,
  SettlePaymentRequest,
} from '@posbridge/protocol/ppp';
import type { ChangeFeed } from '../ports/change-feed.ts';
import type { OperationRecord, Payment, PaymentStore } from '../ports/index.ts';
import type { Presence } from '../ports/presence.ts';
import { isVirtualBinding } from '../testsuite/virtual-terminal.ts';
import { refundCommandOf } from './command-rows.ts';
import type { PaymentService } from './payment-service.ts';

/** An HTTP answer to VTEX. */
export interface PppReply<TBody> {
  readonly httpStatus: number;
  readonly body: TBody;
}

/** Options of {@link OperationService}. */
export interface OperationServiceOptions {
  readonly store: PaymentStore;
  readonly payments: PaymentService;
  readonly logger: Logger;
  /** Woken by the payment service when the payment (key: paymentId) or the refund (key: operationId) changed. */
  readonly changes: ChangeFeed;
  /** Clock, ms since epoch: operation times and the answer budget. */
  readonly now: () => number;
  /** Longest a request waits for the terminal before answering 500 `PPP_OPERATION_PENDING`. @default 4000 */
  readonly answerBudgetMs: number;
  /** Where terminals are driven from (can a void or refund run now?). */
  readonly presence: Presence;
  /** Called after a refund's command row committed (wakes delivery for its serial). */
  readonly wake?: (serialNumbers: readonly string[]) => void;
}

function newOperationId(prefix: 'cn' | 'se' | 'rf'): string {
  return `${prefix}_${randomUUID().replaceAll('-', '')}`;
}

/** Cancellations, settlements and refunds. */
export class OperationService {
  readonly #store: PaymentStore;
  readonly #payments: PaymentService;
  readonly #log: Logger;
  readonly #budgetMs: number;
  readonly #changes: ChangeFeed;
  readonly #now: () => number;
  readonly #presence: Presence;
  readonly #wake: (serialNumbers: readonly string[]) => void;

  constructor(options: OperationServiceOptions) {
    this.#presence = options.presence;
    this.#wake = options.wake ?? (() => undefined);
    this.#store = options.store;
    this.#payments = options.payments;
    this.#log = options.logger.child({ component: 'ppp' });
    this.#budgetMs = options.answerBudgetMs;
    this.#changes = options.changes;
    this.#now = options.now;
  }

  /** The payment if it exists and belongs to `merchantId`. */
  async #ownPayment(paymentId: string, merchantId: string): Promise<Payment | null> {
    const p = await this.#store.getPayment(paymentId);
    return p && p.merchantId === merchantId ? p : null;
  }

  /**
   * True when the payment's terminal can run a void or refund now: its owner is connected and
   * belongs to the payment's merchant (a terminal moved to another agent of the store runs them
   * there; one an administrator moved to another merchant does not: docs/protocol/ws.md
   * "Terminal ownership").
   */
  async #terminalCanReverse(p: Payment): Promise<boolean> {
    if (!p.binding) return false;
    // A merchant's virtual terminal (Test Suite mode, docs/homologation.md) is always reachable.
    if (isVirtualBinding(p)) return true;
    const where = await this.#presence.locate(p.binding.serialNumber);
    if (where.status !== 'online') return false;
    return (await this.#store.agentOwner(where.agentId))?.merchantId === p.merchantId;
  }

  /** Stores a final answer once and returns the stored one (a concurrent duplicate may have won). */
  async #final<TBody>(op: OperationRecord, httpStatus: number, body: TBody): Promise<PppReply<TBody>> {
    const stored = await this.#store.setOperationAnswer(op.operationId, httpStatus, body, this.#now());
    const answer = stored.answer ?? { httpStatus, body };
    return { httpStatus: answer.httpStatus, body: answer.body as TBody };
  }

  /**
   * `POST /payments/{paymentId}/cancellations`.
   * @throws CodedError `PPP_PAYMENT_NOT_FOUND` (404) for a payment this merchant does not have; `STORE_FAILED`.
   */
  async cancel(merchantId: string, paymentId: string, req: CancelPaymentRequest): Promise<PppReply<CancellationResponse>> {
    const started = this.#now();
    const p = await this.#ownPayment(paymentId, merchantId);
    if (!p) return notFound({ paymentId, cancellationId: null, requestId: req.requestId });
    const recorded = await this.#store.recordOperation({
      operationId: newOperationId('cn'),
      paymentId,
      kind: 'cancel',
      requestId: req.requestId,
      amountMinor: 0,
      status: 'pending',
      at: this.#now(),
    });
    if (recorded.kind === 'refused') throw new Error('cancellations are never refused by the store');
    const op = recorded.operation;
    if (op.answer) return { httpStatus: op.answer.httpStatus, body: op.answer.body as CancellationResponse };
    const reply = (httpStatus: number, code: string | null, message: string): CancellationResponse => ({
      paymentId,
      cancellationId: httpStatus === 200 ? op.operationId : null,
      code,
      message,
      requestId: req.requestId,
    });

    // Ask for the cancellation (the machine ignores it where it makes no sense). The totals are
    // read after the payment on each attempt: a settlement bumps the payment's version, so one
    // that lands in between fails the compare-and-set and the decision is made again. Cancel
    // and settle never both win.
    let totals = await this.#store.operationTotals(paymentId);
    const result = await this.#payments.applyEvent(paymentId, async (q) => {
      totals = await this.#store.operationTotals(paymentId);
      return {
        type: 'cancel.requested',
        canReverse: totals.settledMinor === 0 && (await this.#terminalCanReverse(q)),
      };
    });
    if (result.applied) this.#log.info({ paymentId, requestId: req.requestId, status: result.payment?.status }, 'cancellation requested');

    for (;;) {
      const q = await this.#store.getPayment(paymentId);
      if (!q) throw new Error(`payment ${paymentId} vanished`);
      switch (q.status) {
        case 'cancelled':
        case 'denied':
        case 'expired': {
          const message =
            q.status === 'denied'
              ? 'nothing to cancel: the terminal denied the payment'
              : q.outcome?.outcome === 'approved'
                ? 'cancelled; the approval was reversed on the terminal'
                : 'cancelled; nothing was charged';
          this.#log.info({ paymentId, requestId: req.requestId, status: q.status }, 'cancellation answered');
          return this.#final(op, 200, reply(200, null, message));
        }
        case 'approved': {
          const reason =
            q.endReason !== null
              ? `the terminal could not reverse the approval${q.outcome?.message ? ` (${q.outcome.message})` : ''}; reverse it by hand`
              : totals.settledMinor > 0
                ? 'the payment is settled; refund it instead'
                : 'the terminal that approved it is offline; reverse the payment on the terminal by hand';
          this.#log.warn({ paymentId, requestId: req.requestId, reason }, 'cancellation needs a person');
          return this.#final(op, 501, reply(501, 'cancel-manually', reason));
        }
        case 'unknown':
        case 'reversal_unknown': {
          // The card may or may not have been charged (or the reversal gone through): never
          // answered as cancelled/denied on a guess. The cancellation is recorded on the payment (answered once resolved); not
          // stored, so VTEX's repeat re-evaluates.
          this.#log.warn({ paymentId, requestId: req.requestId, status: q.status }, 'cancellation of a payment whose outcome is unknown');
          return { httpStatus: 500, body: reply(500, 'PPP_OUTCOME_UNKNOWN', unknownCancelMessage) };
        }
        case 'awaiting_terminal':
        case 'dispatched':
        case 'accepted':
        case 'aborting':
        case 'reversing': {
          const leftMs = this.#budgetMs - (this.#now() - started);
          if (leftMs <= 0 || !(await this.#changes.wait(paymentId, leftMs))) {
            const again = await this.#store.getPayment(paymentId);
            if (again && again.version !== q.version) continue;
            this.#log.info({ paymentId, requestId: req.requestId, status: q.status }, 'cancellation pending on the terminal');
            return {
              httpStatus: 500,
              body: reply(500, 'PPP_OPERATION_PENDING', ERROR_CODES.PPP_OPERATION_PENDING.message),
            };
          }
          continue;
        }
        default: {
          const never: never = q.status;
          throw new Error(`unhandled status ${String(never)}`);
        }
      }
    }
  }

  /**
   * `POST /payments/{paymentId}/settlements`: records the capture of `value` (partial allowed).
   * @throws CodedError `MONEY_INVALID_AMOUNT` (400) for a value with too many decimals; `STORE_FAILED`.
   */
  async settle(merchantId: string, paymentId: string, req: SettlePaymentRequest): Promise<PppReply<SettlementResponse>> {
    const p = await this.#ownPayment(paymentId, merchantId);
    if (!p) return notFound({ paymentId, settleId: null, value: 0, requestId: req.requestId });
    const amount = moneyFromDecimal(req.value, p.amount.currency);
    const recorded = await this.#store.recordOperation({
      operationId: newOperationId('se'),
      paymentId,
      kind: 'settle',
      requestId: req.requestId,
      amountMinor: amount.amountMinor,
      status: 'approved',
      at: this.#now(),
    });
    const fail = (code: string, message: string): PppReply<SettlementResponse> => ({
      httpStatus: 500,
      body: { paymentId, settleId: null, value: 0, code, message, requestId: req.requestId },
    });
    switch (recorded.kind) {
      case 'refused': {
        const status = recorded.payment?.status ?? p.status;
        this.#log.info({ paymentId, requestId: req.requestId, reason: recorded.reason, status }, 'settlement refused');
        if (recorded.reason === 'not_approved') {
          const refusal = notApproved(recorded.payment ?? p, 'settled');
          return fail(refusal.code, refusal.message);
        }
        return fail(
          'PPP_AMOUNT_EXCEEDED',
          `at most ${moneyToDecimal({ amountMinor: recorded.limitMinor, currency: p.amount.currency })} remains to settle`,
        );
      }
      case 'existing':
      case 'created': {
        const op = recorded.operation;
        if (op.answer) return { httpStatus: op.answer.httpStatus, body: op.answer.body as SettlementResponse };
        this.#log.info({ paymentId, requestId: req.requestId, amountMinor: op.amountMinor }, 'payment settled');
        return this.#final(op, 200, {
          paymentId,
          settleId: op.operationId,
          value: moneyToDecimal({ amountMinor: op.amountMinor, currency: p.amount.currency }),
          code: null,
          message: 'settled',
          requestId: req.requestId,
        });
      }
      default: {
        const never: never = recorded;
        throw new Error(`unhandled ${JSON.stringify(never)}`);
      }
    }
  }

  /**
   * `POST /payments/{paymentId}/refunds`: refunds `value` on the terminal that charged it
   * (partial allowed), or answers 501 `refund-manually` when its agent is offline.
   * @throws CodedError `MONEY_INVALID_AMOUNT` (400); `STORE_FAILED`.
   */
  async refund(merchantId: string, paymentId: string, req: RefundPaymentRequest): Promise<PppReply<RefundResponse>> {
    const started = this.#now();
    const p = await this.#ownPayment(paymentId, merchantId);
    if (!p) return notFound({ paymentId, refundId: null, value: 0, requestId: req.requestId });
    const amount = moneyFromDecimal(req.value, p.amount.currency);
    const serial = p.binding?.serialNumber ?? null;
    const online = await this.#terminalCanReverse(p);
    const operationId = newOperationId('rf');
    const recorded = await this.#store.recordOperation({
      operationId,
      paymentId,
      kind: 'refund',
      requestId: req.requestId,
      amountMinor: amount.amountMinor,
      // Offline: recorded as denied (not counted) with its 501 answer, so a repeat gets the same.
      status: online ? 'pending' : 'denied',
      serialNumber: serial,
      at: this.#now(),
      // The refund's operation.start row commits with the operation (only a new one, only online).
      ...(online ? { command: refundCommandOf(p, operationId, amount.amountMinor) } : {}),
    });
    const decimal = (minor: number) => moneyToDecimal({ amountMinor: minor, currency: p.amount.currency });
    const reply = (httpStatus: number, op: OperationRecord | null, code: string | null, message: string): RefundResponse => ({
      paymentId,
      refundId: httpStatus === 200 && op ? op.operationId : null,
      value: httpStatus === 200 && op ? decimal(op.amountMinor) : 0,
      code,
      message,
      requestId: req.requestId,
    });
    if (recorded.kind === 'refused') {
      this.#log.info({ paymentId, requestId: req.requestId, reason: recorded.reason }, 'refund refused');
      if (recorded.reason === 'not_approved') {
        const refusal = notApproved(recorded.payment ?? p, 'refunded');
        return { httpStatus: 500, body: reply(500, null, refusal.code, refusal.message) };
      }
      return { httpStatus: 500, body: reply(500, null, 'PPP_AMOUNT_EXCEEDED', `at most ${decimal(recorded.limitMinor)} remains to refund`) };
    }
    let op = recorded.operation;
    if (op.answer) return { httpStatus: op.answer.httpStatus, body: op.answer.body as RefundResponse };
    if (recorded.kind === 'created') {
      if (!online) {
        this.#log.warn({ paymentId, requestId: req.requestId, serialNumber: serial }, 'refund needs a person: terminal offline');
        return this.#final(op, 501, reply(501, null, 'refund-manually', 'the terminal that charged this payment is offline; refund it by hand'));
      }
      this.#log.info({ paymentId, requestId: req.requestId, operationId: op.operationId, amountMinor: op.amountMinor }, 'refund requested');
      // Its operation.start row committed with it: the hub holding the terminal delivers it.
      if (serial !== null) this.#wake([serial]);
    }
    for (;;) {
      switch (op.status) {
        case 'approved':
          this.#log.info({ paymentId, requestId: req.requestId, operationId: op.operationId }, 'refund approved');
          return this.#final(op, 200, reply(200, op, null, 'refunded on the terminal'));
        case 'denied':
          return this.#final(
            op,
            501,
            reply(501, null, 'refund-manually', `the terminal refused the refund${op.message ? ` (${op.message})` : ''}; refund it by hand`),
          );
        case 'unknown':
          // Refunded or not is unknown: never answered on a guess; flagged until the terminal
          // answers or an operator resolves it (VTEX's repeat then gets the decided answer).
          this.#log.warn({ paymentId, requestId: req.requestId, operationId: op.operationId }, 'refund outcome unknown');
          return { httpStatus: 500, body: reply(500, null, 'PPP_OUTCOME_UNKNOWN', unknownRefundMessage) };
        case 'pending': {
          const leftMs = this.#budgetMs - (this.#now() - started);
          const woken = leftMs > 0 && (await this.#changes.wait(op.operationId, leftMs));
          const again = await this.#store.getOperation(op.operationId);
          if (!again) {
            // Released: the agent could not take it (terminal busy). Nothing was refunded; VTEX repeats.
            this.#log.info({ paymentId, requestId: req.requestId, operationId: op.operationId }, 'refund not taken by the busy terminal');
            return { httpStatus: 500, body: reply(500, null, 'PPP_TERMINAL_BUSY', ERROR_CODES.PPP_TERMINAL_BUSY.message) };
          }
          if (!woken && again.status === op.status) {
            this.#log.info({ paymentId, requestId: req.requestId, status: again.status }, 'refund pending on the terminal');
            return { httpStatus: 500, body: reply(500, null, 'PPP_OPERATION_PENDING', ERROR_CODES.PPP_OPERATION_PENDING.message) };
          }
          op = again;
          continue;
        }
        default: {
          const never: never = op.status;
          throw new Error(`unhandled status ${String(never)}`);
        }
      }
    }
  }
}

/** `message` of the 500 `PPP_OUTCOME_UNKNOWN` answer to a cancellation. */
const unknownCancelMessage =
  `${ERROR_CODES.PPP_OUTCOME_UNKNOWN.message}: the cancellation is recorded and is answered once an operator ` +
  'resolves the outcome from the terminal journal (posbridge-server payment resolve)';
/** `message` of the 500 `PPP_OUTCOME_UNKNOWN` answer to a refund. */
const unknownRefundMessage =
  'the terminal outcome of this refund is unknown; it stays flagged until the terminal or an operator resolves it ' +
  '(posbridge-server operation resolve)';
/**
 * Why a settlement or refund of a payment that is not `approved` is refused: `PPP_PAYMENT_CANCELLED`
 * when VTEX cancelled it (the cancellation may still be reversing it on the terminal), else
 * `PPP_NOT_APPROVED` (VTEX retries; a payment still in progress can be settled once approved).
 * `payment` is the row as the store's refusal saw it, so the message names its current state.
 */
function notApproved(
  payment: Pick<Payment, 'status' | 'endReason'>,
  what: 'settled' | 'refunded',
): { code: 'PPP_PAYMENT_CANCELLED' | 'PPP_NOT_APPROVED'; message: string } {
  const cancelling = payment.endReason === 'cancelled' && ['aborting', 'reversing', 'reversal_unknown', 'cancelled'].includes(payment.status);
  if (cancelling) {
    return {
      code: 'PPP_PAYMENT_CANCELLED',
      message:
        payment.status === 'cancelled'
          ? `the payment was cancelled; it cannot be ${what}`
          : `the payment is being cancelled (${payment.status}); it cannot be ${what}`,
    };
  }
  return { code: 'PPP_NOT_APPROVED', message: `the payment is ${payment.status}; only an approved payment can be ${what}` };
}

/** 500 body for a payment this merchant does not have (the PPP failure shape of each route). */
function notFound<TBody extends { paymentId: string; requestId: string }>(fields: TBody): PppReply<TBody & { code: string; message: string }> {
  return { httpStatus: 500, body: { ...fields, code: 'PPP_PAYMENT_NOT_FOUND', message: ERROR_CODES.PPP_PAYMENT_NOT_FOUND.message } };
}
