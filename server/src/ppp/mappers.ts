/**
 * Domain → PPP mapping: the Create Payment answer for a payment in any state, and the
 * notification callback body. Money leaves minor units here (moneyToDecimal), once.
 *
 * @see ../../../../shared/spec/ppp-pos.md §4.2 (response table), §5.4 (paymentAppData), §5.7, §6.2
 */
import { moneyToDecimal } from '@posbridge/protocol/money';
import {
  TERMINAL_CONNECTOR_APP,
  WAIT_FOR_CONFIRMATION_APP,
  type CallbackBody,
  type CreatePaymentResponse,
  type TerminalConnectorPayload,
  type WaitForConfirmationPayload,
} from '@posbridge/protocol/ppp';
import type { PaymentMethodKind } from '@posbridge/protocol/ws';
import { POS_PAYMENT_METHODS } from '@posbridge/protocol/ppp';
import type { Payment } from '../store/store.ts';

/** The config values every PPP answer carries. */
export interface PppAnswerSettings {
  /** `acquirer` field. */
  readonly acquirer: string;
  /** Seconds, for the wait-for-confirmation payload. */
  readonly secondsWaiting: number;
  /** Seconds. */
  readonly delayToCancelSeconds: number;
  /** Seconds; used for both auto-settle delays. */
  readonly delayToAutoSettleSeconds: number;
}

/** `Venda Direta Credito` → `credit`, `Venda Direta Debito` → `debit`, anything else → undefined. @see ppp-pos.md §5.1 */
export function methodKindOf(paymentMethod: string): PaymentMethodKind | undefined {
  if (paymentMethod === POS_PAYMENT_METHODS.credit) return 'credit';
  if (paymentMethod === POS_PAYMENT_METHODS.debit) return 'debit';
  return undefined;
}

function delays(s: PppAnswerSettings) {
  return {
    delayToAutoSettle: s.delayToAutoSettleSeconds,
    delayToAutoSettleAfterAntifraud: s.delayToAutoSettleSeconds,
    delayToCancel: s.delayToCancelSeconds,
  };
}

/** Denied answer for a method posbridge does not serve (no payment is stored). */
export function unsupportedMethodAnswer(paymentId: string, paymentMethod: string, s: PppAnswerSettings): CreatePaymentResponse {
  return {
    paymentId,
    status: 'denied',
    authorizationId: null,
    tid: null,
    nsu: null,
    acquirer: s.acquirer,
    code: 'UNSUPPORTED_METHOD',
    message: `posbridge only serves "${POS_PAYMENT_METHODS.credit}" and "${POS_PAYMENT_METHODS.debit}", not ${JSON.stringify(paymentMethod)}`,
    ...delays(s),
  };
}

/** Final fields shared by a final Create Payment answer and the callback. */
function finalFields(p: Payment, status: 'approved' | 'denied', s: PppAnswerSettings): CallbackBody {
  const o = p.outcome;
  return {
    paymentId: p.paymentId,
    status,
    authorizationId: status === 'approved' ? (o?.authorizationId ?? o?.terminalRef ?? p.id) : null,
    nsu: o?.nsu ?? null,
    tid: o?.tid ?? p.id,
    acquirer: s.acquirer,
    code: o?.responseCode ?? null,
    message: o?.message ?? (status === 'approved' ? 'approved on the terminal' : 'denied on the terminal'),
    ...delays(s),
    cardBrand: o?.card?.brand ?? null,
    firstDigits: o?.card?.firstDigits ?? null,
    lastDigits: o?.card?.lastDigits ?? null,
    maxValue: moneyToDecimal(p.amount),
  };
}

/**
 * The Create Payment answer for `payment` in its current state.
 * @param submitUrl - the payment's submitUrl (only used while awaiting a terminal).
 */
export function paymentAnswer(p: Payment, submitUrl: string, s: PppAnswerSettings): CreatePaymentResponse {
  const pending = (appName: string, payload: string, message: string): CreatePaymentResponse => ({
    paymentId: p.paymentId,
    status: 'undefined',
    authorizationId: null,
    tid: p.id,
    nsu: null,
    acquirer: s.acquirer,
    code: null,
    message,
    ...delays(s),
    paymentAppData: { appName, payload },
  });
  switch (p.status) {
    case 'awaiting_terminal': {
      const payload: TerminalConnectorPayload = { submitUrl };
      return pending(TERMINAL_CONNECTOR_APP, JSON.stringify(payload), 'waiting for the terminal to be identified');
    }
    case 'dispatched':
    case 'accepted':
    case 'unknown': {
      const payload: WaitForConfirmationPayload = { secondsWaiting: s.secondsWaiting };
      const message =
        p.status === 'unknown' ? 'terminal outcome unknown; awaiting reconciliation' : 'waiting for the terminal';
      return pending(WAIT_FOR_CONFIRMATION_APP, JSON.stringify(payload), message);
    }
    case 'approved':
    case 'denied':
      return finalFields(p, p.status, s);
    default: {
      const never: never = p.status;
      throw new Error(`unhandled status ${String(never)}`);
    }
  }
}

/**
 * The notification callback body for a payment that just became final.
 * @see ppp-pos.md §6.2
 */
export function callbackBody(p: Payment, s: PppAnswerSettings): CallbackBody {
  if (p.status !== 'approved' && p.status !== 'denied') {
    throw new Error(`callback body requested for a payment in state ${p.status}`);
  }
  return finalFields(p, p.status, s);
}
