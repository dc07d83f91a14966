/**
 * What VTEX is told about a payment that ended (the PPP outcome of the domain): the final fields
 * of the Create Payment answer and the notification callback body, the PPP payment methods
 * posbridge serves, and the answer settings every PPP answer carries. Pure; money leaves minor
 * units here (moneyToDecimal), once. The core (the payment service enqueues the callback body in
 * the same transaction as the change) and the PPP routes (../ppp/mappers.ts) both use it.
 *
 * @see docs/ppp.md "Callbacks", "State of a payment";
 *   https://developers.vtex.com/docs/api-reference/payment-provider-protocol (Create Payment
 *   response, callbackUrl notification)
 */
import { moneyToDecimal } from '@posbridge/protocol/money';
import { POS_PAYMENT_METHODS, type CallbackBody } from '@posbridge/protocol/ppp';
import type { PaymentMethodKind } from '@posbridge/protocol/ws';
import type { Payment } from '../ports/index.ts';

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

/** `Venda Direta Credito` → `credit`, `Venda Direta Debito` → `debit`, anything else → undefined. @see docs/ppp.md "Routes" */
export function methodKindOf(paymentMethod: string): PaymentMethodKind | undefined {
  if (paymentMethod === POS_PAYMENT_METHODS.credit) return 'credit';
  if (paymentMethod === POS_PAYMENT_METHODS.debit) return 'debit';
  return undefined;
}

/** The delay fields of every PPP answer (seconds). */
export function pppDelays(s: PppAnswerSettings): { delayToAutoSettle: number; delayToAutoSettleAfterAntifraud: number; delayToCancel: number } {
  return {
    delayToAutoSettle: s.delayToAutoSettleSeconds,
    delayToAutoSettleAfterAntifraud: s.delayToAutoSettleSeconds,
    delayToCancel: s.delayToCancelSeconds,
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
export function finalFields(p: Payment, status: 'approved' | 'denied', s: PppAnswerSettings): CallbackBody {
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
      ...pppDelays(s),
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
    ...pppDelays(s),
    cardBrand: o?.card?.brand ?? null,
    firstDigits: o?.card?.firstDigits ?? null,
    lastDigits: o?.card?.lastDigits ?? null,
    maxValue: moneyToDecimal(p.amount),
  };
}


/**
 * The notification callback body for a payment that just became final.
 * @see docs/ppp.md "Callbacks"
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
