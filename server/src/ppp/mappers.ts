/**
 * Domain → PPP mapping: the Create Payment answer for a payment in any state. The final fields
 * and the notification callback body are the domain's (../domain/ppp-outcome.ts).
 *
 * @see docs/protocol/vtex-ppp.md §4.2 (response table), §5.4 (paymentAppData), §5.7; docs/ppp.md "Routes"
 */
import { POS_PAYMENT_METHODS, VTEX_PAYMENT_APPS, type CreatePaymentResponse, type PaymentAppNames } from '@posbridge/protocol/ppp';
import type { TerminalConnectorPayloadWire, WaitForConfirmationPayloadWire } from '@posbridge/protocol/pos';
import { finalFields, pppDelays, type PppAnswerSettings } from '../domain/ppp-outcome.ts';
import type { Payment } from '../ports/index.ts';

/** The Payment App routes of one payment, all authenticated by the same per-payment token. */
export interface PaymentAppUrls {
  readonly submitUrl: string;
  readonly statusUrl: string;
  readonly terminalsUrl: string;
  /** *Cancel on terminal* (`POST`): posbridge's addition to both payloads; VTEX's apps ignore it. */
  readonly cancelUrl: string;
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
    ...pppDelays(s),
  };
}

/**
 * The Create Payment answer for `payment` in its current state.
 * @param urls - the payment's Payment App URLs (submitUrl, statusUrl, terminalsUrl).
 * @param apps - the `paymentAppData.appName` of each step: VTEX's own apps unless the merchant
 *   configured its partner's (protocol `paymentAppNamesOf`; docs/ppp.md "Payment Apps"). The
 *   payloads are the same either way, so VTEX's apps and ours read them alike.
 */
export function paymentAnswer(p: Payment, urls: PaymentAppUrls, s: PppAnswerSettings, apps: PaymentAppNames = VTEX_PAYMENT_APPS): CreatePaymentResponse {
  const pending = (appName: string, payload: string, message: string): CreatePaymentResponse => ({
    paymentId: p.paymentId,
    status: 'undefined',
    authorizationId: null,
    tid: p.id,
    nsu: null,
    acquirer: s.acquirer,
    code: null,
    message,
    ...pppDelays(s),
    paymentAppData: { appName, payload },
  });
  switch (p.status) {
    case 'awaiting_terminal': {
      const payload: TerminalConnectorPayloadWire = {
        submitUrl: urls.submitUrl,
        statusUrl: urls.statusUrl,
        terminalsUrl: urls.terminalsUrl,
        cancelUrl: urls.cancelUrl,
      };
      return pending(apps.connector, JSON.stringify(payload), 'waiting for the terminal to be identified');
    }
    case 'dispatched':
    case 'accepted':
    case 'unknown': {
      const payload: WaitForConfirmationPayloadWire = { secondsWaiting: s.secondsWaiting, statusUrl: urls.statusUrl, cancelUrl: urls.cancelUrl };
      const message =
        p.status === 'unknown' ? 'terminal outcome unknown; awaiting reconciliation' : 'waiting for the terminal';
      return pending(apps.wait, JSON.stringify(payload), message);
    }
    case 'approved':
    case 'denied':
      return finalFields(p, p.status, s);
    case 'cancelled':
    case 'expired':
      return finalFields(p, 'denied', s);
    case 'reversal_unknown': {
      // Whether the reversal went through is unknown: never reported cancelled/denied on a guess.
      const payload: WaitForConfirmationPayloadWire = { secondsWaiting: s.secondsWaiting, statusUrl: urls.statusUrl, cancelUrl: urls.cancelUrl };
      return pending(apps.wait, JSON.stringify(payload), 'reversal outcome unknown; awaiting reconciliation');
    }
    case 'aborting':
    case 'reversing': {
      if (p.endReason === 'cancelled') return { ...finalFields({ ...p, status: 'cancelled' }, 'denied', s) };
      const payload: WaitForConfirmationPayloadWire = { secondsWaiting: s.secondsWaiting, statusUrl: urls.statusUrl, cancelUrl: urls.cancelUrl };
      return pending(apps.wait, JSON.stringify(payload), 'payment expired; stopping the terminal');
    }
    default: {
      const never: never = p.status;
      throw new Error(`unhandled status ${String(never)}`);
    }
  }
}

