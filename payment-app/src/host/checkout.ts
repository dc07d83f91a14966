/**
 * The VTEX checkout contract of a Payment App (VTEX IO, builders `react` + `pages`, extension
 * `checkout/transactions/<app-name>`): the component gets the connector's payload string as the
 * prop `appPayload`, may trigger `removePaymentLoading.vtex` on `window` to show its own UI, and
 * answers once by triggering `transactionValidation.vtex` with `[true]` (approve the order) or
 * `[false]` (reject it). Here: which screen a payload opens and which answer a screen's result is.
 * @see ../../vtex-io/README.md, docs/payment-app-install.md
 */
import type { PosStatus } from '@posbridge/protocol/pos';
import { parseConnectorPayload, parseWaitPayload, type ConnectorResult, type WaitResult } from './contract.ts';

/** What the checkout is told: approve, reject. */
export interface CheckoutEvents {
  /** `removePaymentLoading.vtex`: the checkout hides its spinner so the app's screen shows. */
  removeLoading(): void;
  /** `transactionValidation.vtex` with `[approved]`. */
  respond(approved: boolean): void;
}

/** The part of jQuery the checkout page has as `window.$`. */
export interface JQueryLike {
  (target: unknown): { trigger(event: string, args?: unknown[]): unknown };
}

/**
 * The checkout events on a page whose jQuery is `win.$` (VTEX checkout's). Looked up at each
 * call, so a page that loads jQuery after the app still works.
 * @throws Error when the page has no jQuery at the time of a call (not a VTEX checkout).
 */
export function checkoutEventsOn(win: { $?: JQueryLike | undefined }): CheckoutEvents {
  const $ = (): JQueryLike => {
    if (typeof win.$ !== 'function') throw new Error('posbridge Payment App: no jQuery on window ($): not a VTEX checkout page');
    return win.$;
  };
  return {
    removeLoading: () => void $()(win).trigger('removePaymentLoading.vtex'),
    respond: (approved) => void $()(win).trigger('transactionValidation.vtex', [approved]),
  };
}

/** The step a payload opens: identify the terminal (`submitUrl`), wait for it (`secondsWaiting`), or none (unusable). */
export function stepOfPayload(appPayload: string): 'connector' | 'wait' | null {
  if (parseConnectorPayload(appPayload) !== null) return 'connector';
  if (parseWaitPayload(appPayload) !== null) return 'wait';
  return null;
}

/**
 * The checkout's answer to a screen's result: `true` approved; `false` denied, cancelled,
 * expired, closed by the clerk, or unusable; null = not an answer yet (the terminal got the
 * payment: wait for it; or time ran out: ask the server, {@link checkoutStepOfStatus}).
 */
export function checkoutAnswerOf(result: ConnectorResult | WaitResult): boolean | null {
  switch (result.outcome) {
    case 'approved':
      return true;
    case 'submitted':
    case 'timeout':
      return null;
    case 'denied':
    case 'ended':
    case 'cancelled':
    case 'failed':
      return false;
  }
}

/** What to do after reading the payment's status in the checkout flow. */
export type CheckoutStep =
  | { readonly kind: 'answer'; readonly approved: boolean }
  /** The terminal works on it (or will be told to stop at the deadline): follow it; `secondsWaiting` ≥ 1. */
  | { readonly kind: 'wait'; readonly secondsWaiting: number }
  /** Nobody knows whether the card was charged: never answered on a guess (docs/ppp.md "Unknown outcomes"). */
  | { readonly kind: 'unknown' };

/**
 * The step a status stands for. A payment still running, or still waiting for a terminal, is
 * followed; the server's deadline ends it (expired → `false`), so the app never needs to guess.
 * @param fallbackSeconds - countdown when the server gives no `secondsRemaining`.
 */
export function checkoutStepOfStatus(status: PosStatus, fallbackSeconds: number): CheckoutStep {
  switch (status.state) {
    case 'approved':
      return { kind: 'answer', approved: true };
    case 'denied':
    case 'cancelled':
    case 'expired':
      return { kind: 'answer', approved: false };
    case 'unknown':
      return { kind: 'unknown' };
    default:
      return { kind: 'wait', secondsWaiting: Math.max(1, status.secondsRemaining ?? fallbackSeconds) };
  }
}
