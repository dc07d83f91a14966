/**
 * Domain → PPP mapping: the Create Payment answer for a payment in any state, and the
 * notification callback body. Money leaves minor units here (moneyToDecimal), once.
 *
 * @see docs/protocol/vtex-ppp.md §4.2 (response table), §5.4 (paymentAppData), §5.7, §6.2
 */
import { moneyToDecimal } from '@posbridge/protocol/money';
import {
  TERMINAL_CONNECTOR_APP,
  WAIT_FOR_CONFIRMATION_APP,
  type CallbackBody,
  type CreatePaymentResponse,
} from '@posbridge/protocol/ppp';
import type { TerminalConnectorPayloadWire, WaitForConfirmationPayloadWire } from '@posbridge/protocol/pos';
import type { PaymentMethodKind } from '@posbridge/protocol/ws';
import { POS_PAYMENT_METHODS } from '@posbridge/protocol/ppp';
import type { Payment } from '../store/store.ts';

/** The Payment App routes of one payment, all authenticated by the same per-payment token. */
export interface PaymentAppUrls {
  readonly submitUrl: string;
  readonly statusUrl: string;
  readonly terminalsUrl: string;
}

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

/** `Venda Direta Credito` → `credit`, `Venda Direta Debito` → `debit`, anything else → undefined. @see docs/protocol/vtex-ppp.md §5.1 */
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
    // `tid` is a required string (OpenAPI); nothing was created, so it echoes the paymentId.
    tid: paymentId,
    nsu: null,
    acquirer: s.acquirer,
    code: 'UNSUPPORTED_METHOD',
    message: `posbridge only serves "${POS_PAYMENT_METHODS.credit}" and "${POS_PAYMENT_METHODS.debit}", not ${JSON.stringify(paymentMethod)}`,
    ...delays(s),
  };
}

/** What VTEX is told about a payment that ended without a charge (or whose charge was reversed). */
function endedFields(p: Payment, reason: 'cancelled' | 'expired'): { code: string; message: string } {
  const reversed = p.outcome?.outcome === 'approved';
  if (reason === 'cancelled') {
    return { code: 'cancelled', message: reversed ? 'cancelled; the approval was reversed on the terminal' : 'cancelled before the terminal charged' };
  }
  return {
    code: 'expired',
    message: reversed
      ? 'no confirmation in time; the late approval was reversed on the terminal'
      : 'no terminal result before the payment deadline; nothing was charged',
  };
}

/** Final fields shared by a final Create Payment answer and the callback. */
function finalFields(p: Payment, status: 'approved' | 'denied', s: PppAnswerSettings): CallbackBody {
  const o = p.outcome;
  if (status === 'denied' && (p.status === 'cancelled' || p.status === 'expired')) {
    return {
      paymentId: p.paymentId,
      status,
      authorizationId: null,
      nsu: o?.nsu ?? null,
      tid: o?.tid ?? p.id,
      acquirer: s.acquirer,
      ...endedFields(p, p.status),
      ...delays(s),
      cardBrand: null,
      firstDigits: null,
      lastDigits: null,
      maxValue: moneyToDecimal(p.amount),
    };
  }
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
 * @param urls - the payment's Payment App URLs (submitUrl, statusUrl, terminalsUrl).
 */
export function paymentAnswer(p: Payment, urls: PaymentAppUrls, s: PppAnswerSettings): CreatePaymentResponse {
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
      const payload: TerminalConnectorPayloadWire = {
        submitUrl: urls.submitUrl,
        statusUrl: urls.statusUrl,
        terminalsUrl: urls.terminalsUrl,
      };
      return pending(TERMINAL_CONNECTOR_APP, JSON.stringify(payload), 'waiting for the terminal to be identified');
    }
    case 'dispatched':
    case 'accepted':
    case 'unknown': {
      const payload: WaitForConfirmationPayloadWire = { secondsWaiting: s.secondsWaiting, statusUrl: urls.statusUrl };
      const message =
        p.status === 'unknown' ? 'terminal outcome unknown; awaiting reconciliation' : 'waiting for the terminal';
      return pending(WAIT_FOR_CONFIRMATION_APP, JSON.stringify(payload), message);
    }
    case 'approved':
    case 'denied':
      return finalFields(p, p.status, s);
    case 'cancelled':
    case 'expired':
      return finalFields(p, 'denied', s);
    case 'reversal_unknown': {
      // Whether the reversal went through is unknown: never reported cancelled/denied on a guess.
      const payload: WaitForConfirmationPayloadWire = { secondsWaiting: s.secondsWaiting, statusUrl: urls.statusUrl };
      return pending(WAIT_FOR_CONFIRMATION_APP, JSON.stringify(payload), 'reversal outcome unknown; awaiting reconciliation');
    }
    case 'aborting':
    case 'reversing': {
      if (p.endReason === 'cancelled') return { ...finalFields({ ...p, status: 'cancelled' }, 'denied', s) };
      const payload: WaitForConfirmationPayloadWire = { secondsWaiting: s.secondsWaiting, statusUrl: urls.statusUrl };
      return pending(WAIT_FOR_CONFIRMATION_APP, JSON.stringify(payload), 'payment expired; stopping the terminal');
    }
    default: {
      const never: never = p.status;
      throw new Error(`unhandled status ${String(never)}`);
    }
  }
}

/**
 * The notification callback body for a payment that just became final.
 * @see docs/protocol/vtex-ppp.md §6.2
 */
export function callbackBody(p: Payment, s: PppAnswerSettings): CallbackBody {
  switch (p.status) {
    case 'approved':
    case 'denied':
      return finalFields(p, p.status, s);
    case 'cancelled':
    case 'expired':
      return finalFields(p, 'denied', s);
    default:
      throw new Error(`callback body requested for a payment in state ${p.status}`);
  }
}
