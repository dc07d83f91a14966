import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkoutAnswerOf, checkoutEventsOn, checkoutStepOfStatus, stepOfPayload, type CheckoutEvents } from '../host/checkout.ts';
import { fakeFetch, type FakeFetch } from '../testing/fake-fetch.ts';
import { connectorPayload, posError, status, STATUS_URL, SUBMIT_URL, waitPayload } from '../testing/fixtures.ts';
import { CheckoutFlow } from './CheckoutFlow.tsx';

afterEach(cleanup);

function renderFlow(f: FakeFetch, appPayload: string, locale = 'en') {
  const events: string[] = [];
  const checkout: CheckoutEvents = {
    removeLoading: () => events.push('removePaymentLoading'),
    respond: (approved) => events.push(`transactionValidation:${approved}`),
  };
  render(<CheckoutFlow appPayload={appPayload} locale={locale} checkout={checkout} fetch={f.fetch} pollIntervalMs={10} />);
  return events;
}

const approved = status({ state: 'approved', secondsRemaining: null, result: { status: 'approved', cardBrand: 'Visa', lastDigits: '1111', message: null } });
const denied = status({ state: 'denied', secondsRemaining: null, result: { status: 'denied', cardBrand: null, lastDigits: null, message: 'Insufficient funds' } });

describe('the checkout flow (VTEX IO Payment App)', () => {
  it('identifies the terminal, follows it and answers true for an approval, once', async () => {
    const f = fakeFetch()
      .on('POST', SUBMIT_URL, { status: 200, body: { paymentId: 'PAY1', serialNumber: 'SIM0001', state: 'in_progress' } })
      .on('GET', STATUS_URL, { status: 200, body: status({ stage: 'pin' }) }, { status: 200, body: status({ stage: 'pin' }) }, { status: 200, body: approved });
    const events = renderFlow(f, connectorPayload({ statusUrl: STATUS_URL }));
    expect(events).toEqual(['removePaymentLoading']);
    fireEvent.change(screen.getByTestId('serial-input'), { target: { value: 'sim0001' } });
    fireEvent.click(screen.getByTestId('submit'));
    fireEvent.click(await screen.findByTestId('continue'));
    await screen.findByTestId('wait-final-approved', {}, { timeout: 3000 });
    expect(events).toEqual(['removePaymentLoading']);
    fireEvent.click(screen.getByTestId('done'));
    expect(events).toEqual(['removePaymentLoading', 'transactionValidation:true']);
    expect(await screen.findByTestId('checkout-answered')).toBeTruthy();
  });

  it('opens the wait step from a secondsWaiting payload and answers false for a denial', async () => {
    const f = fakeFetch().on('GET', STATUS_URL, { status: 200, body: denied });
    const events = renderFlow(f, waitPayload(), 'pt-BR');
    await screen.findByTestId('wait-final-denied');
    fireEvent.click(screen.getByTestId('done'));
    expect(events).toEqual(['removePaymentLoading', 'transactionValidation:false']);
  });

  it('answers false when the clerk closes the connector, and when the payload is unusable', async () => {
    const events = renderFlow(fakeFetch(), connectorPayload({ statusUrl: STATUS_URL }));
    fireEvent.click(screen.getByTestId('cancel'));
    expect(events).toEqual(['removePaymentLoading', 'transactionValidation:false']);
    cleanup();
    const bad = renderFlow(fakeFetch(), '{"nothing":1}');
    fireEvent.click(screen.getByTestId('close'));
    expect(bad).toEqual(['removePaymentLoading', 'transactionValidation:false']);
  });

  it('never answers an unknown outcome once the wait runs out: it says so and keeps the checkout waiting', async () => {
    const unknown = status({ state: 'unknown', secondsRemaining: null });
    const f = fakeFetch().on('GET', STATUS_URL, { status: 200, body: status({ secondsRemaining: 1 }) }, { status: 200, body: unknown });
    const events = renderFlow(f, waitPayload(1));
    fireEvent.click(await screen.findByTestId('done', {}, { timeout: 4000 })); // "Time is up"
    await screen.findByTestId('checkout-unknown');
    expect(screen.getByTestId('checkout-unknown-notice').textContent).toBe('Result not known yet');
    await new Promise((r) => setTimeout(r, 50));
    expect(events).toEqual(['removePaymentLoading']);
  });

  it('answers false for a payment the server no longer knows', async () => {
    const f = fakeFetch()
      .on('POST', SUBMIT_URL, { status: 200, body: { paymentId: 'PAY1', serialNumber: 'SIM0001', state: 'in_progress' } })
      .on('GET', STATUS_URL, { status: 404, body: posError('POS_SUBMIT_NOT_FOUND') });
    const events = renderFlow(f, connectorPayload({ statusUrl: STATUS_URL }));
    fireEvent.change(screen.getByTestId('serial-input'), { target: { value: 'SIM0001' } });
    fireEvent.click(screen.getByTestId('submit'));
    fireEvent.click(await screen.findByTestId('continue'));
    await waitFor(() => expect(events).toEqual(['removePaymentLoading', 'transactionValidation:false']));
  });
});

describe('checkout contract helpers', () => {
  it('maps payloads to steps and results to answers', () => {
    expect(stepOfPayload(connectorPayload())).toBe('connector');
    expect(stepOfPayload(waitPayload())).toBe('wait');
    expect(stepOfPayload('not json')).toBeNull();
    expect(checkoutAnswerOf({ outcome: 'approved', cardBrand: null, lastDigits: null })).toBe(true);
    for (const r of [{ outcome: 'denied', message: null }, { outcome: 'ended', state: 'expired' }, { outcome: 'cancelled' }, { outcome: 'failed', reason: 'x' }] as const) {
      expect(checkoutAnswerOf(r)).toBe(false);
    }
    expect(checkoutAnswerOf({ outcome: 'timeout' })).toBeNull();
    expect(checkoutStepOfStatus(status({ state: 'dispatched', secondsRemaining: 42 }), 120)).toEqual({ kind: 'wait', secondsWaiting: 42 });
    expect(checkoutStepOfStatus(status({ state: 'expired' }), 120)).toEqual({ kind: 'answer', approved: false });
  });

  it("triggers the events on the page's jQuery, and says so when there is none", () => {
    const triggered: unknown[][] = [];
    const win: { $?: (t: unknown) => { trigger(e: string, a?: unknown[]): unknown } } = {};
    win.$ = (target) => ({ trigger: (event, args) => triggered.push([target === win, event, args]) });
    const events = checkoutEventsOn(win);
    events.removeLoading();
    events.respond(false);
    expect(triggered).toEqual([[true, 'removePaymentLoading.vtex', undefined], [true, 'transactionValidation.vtex', [false]]]);
    expect(() => checkoutEventsOn({}).respond(true)).toThrow(/no jQuery/);
    expect(vi.isMockFunction(win.$)).toBe(false);
  });
});
