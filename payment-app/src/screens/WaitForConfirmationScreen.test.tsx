import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { WaitResult } from '../index.ts';
import { countControls, unlabelledControls } from '../testing/a11y.ts';
import { fakeFetch, type FakeFetch } from '../testing/fake-fetch.ts';
import { posError, status, STATUS_URL, waitPayload } from '../testing/fixtures.ts';
import { WaitForConfirmationScreen } from './WaitForConfirmationScreen.tsx';

afterEach(() => {
  cleanup();
  vi.useRealTimers();
});

function renderWait(fetch: FakeFetch, options: { payload?: string; locale?: string; autoCloseMs?: number | null } = {}) {
  const onClose = vi.fn<(r: WaitResult) => void>();
  render(
    <WaitForConfirmationScreen
      payload={options.payload ?? waitPayload()}
      locale={options.locale ?? 'en'}
      onClose={onClose}
      fetch={fetch.fetch}
      pollIntervalMs={10}
      autoCloseMs={options.autoCloseMs}
    />,
  );
  return { onClose };
}

const reply = (overrides: Parameters<typeof status>[0]) => ({ status: 200, body: status(overrides) });

describe('wait for confirmation: live progress', () => {
  it('walks through card, PIN and processing, then shows the approval with brand and last 4', async () => {
    const f = fakeFetch().on(
      'GET',
      STATUS_URL,
      reply({ state: 'dispatched' }),
      reply({ stage: 'waiting_card' }),
      reply({ stage: 'waiting_card' }),
      reply({ stage: 'pin' }),
      reply({ stage: 'pin' }),
      reply({ stage: 'processing' }),
      reply({ stage: 'processing' }),
      reply({ state: 'approved', stage: null, secondsRemaining: null, result: { status: 'approved', cardBrand: 'Mastercard', lastDigits: '4321', message: null } }),
    );
    // The poll timer runs on vitest's clock: each step is one poll interval (10 ms).
    vi.useFakeTimers();
    const { onClose } = renderWait(f);
    const seen: string[] = [];
    for (let step = 0; step < 100 && screen.queryByTestId('wait-final-approved') === null; step++) {
      const stage = screen.queryByTestId('wait-stage')?.textContent;
      if (stage && seen.at(-1) !== stage) seen.push(stage);
      await act(() => vi.advanceTimersByTimeAsync(10));
    }
    expect(screen.queryByTestId('wait-final-approved')).not.toBeNull();
    expect(seen).toEqual(expect.arrayContaining(['Insert, tap or swipe the card', 'Buyer is typing the PIN', 'Processing…']));
    expect(screen.getByTestId('wait-final-approved').textContent).toContain('✓ Approved');
    expect(screen.getByTestId('wait-final-detail').textContent).toBe('Mastercard •••• 4321');
    expect(screen.getByTestId('wait-final-detail').getAttribute('aria-label')).toBe('Mastercard card ending in 4321');
    expect(screen.getByTestId('wait-amount').textContent).toBe('R$10.50 · Credit');
    const polls = f.calls.length;
    await act(() => vi.advanceTimersByTimeAsync(50)); // five poll intervals
    expect(f.calls.length).toBe(polls); // polling stops once final
    expect(onClose).not.toHaveBeenCalled();
    fireEvent.click(screen.getByTestId('done'));
    expect(onClose).toHaveBeenCalledWith({ outcome: 'approved', cardBrand: 'Mastercard', lastDigits: '4321' });
    expect(onClose).toHaveBeenCalledTimes(1);
  });

  it('marks the current step and the ones done', async () => {
    const f = fakeFetch().on('GET', STATUS_URL, reply({ stage: 'pin' }));
    renderWait(f);
    expect(await screen.findByTestId('step-pin-active')).toBeTruthy();
    expect(screen.getByTestId('step-card-done')).toBeTruthy();
    expect(screen.getByTestId('step-processing')).toBeTruthy();
  });

  it('shows a denial with the reason and a hint', async () => {
    const f = fakeFetch().on('GET', STATUS_URL, reply({ state: 'denied', result: { status: 'denied', cardBrand: 'Visa', lastDigits: '1111', message: 'Insufficient funds' } }));
    const { onClose } = renderWait(f);
    const final = await screen.findByTestId('wait-final-denied');
    expect(final.textContent).toContain('✕ Denied');
    expect(final.textContent).toContain('Insufficient funds');
    expect(final.textContent).toContain('Ask the buyer for another card');
    fireEvent.click(screen.getByTestId('done'));
    expect(onClose).toHaveBeenCalledWith({ outcome: 'denied', message: 'Insufficient funds' });
  });

  it('says the outcome is being confirmed while it is unknown', async () => {
    renderWait(fakeFetch().on('GET', STATUS_URL, reply({ state: 'unknown', stage: 'processing' })));
    expect(await screen.findByText('Confirming the result with the terminal…')).toBeTruthy();
  });

  it.each([
    ['cancelled', 'Payment cancelled'],
    ['expired', 'Payment expired'],
  ] as const)('ends when the server reports the payment %s', async (state, text) => {
    const { onClose } = renderWait(fakeFetch().on('GET', STATUS_URL, reply({ state, secondsRemaining: null })));
    expect((await screen.findByTestId('wait-final-ended')).textContent).toContain(text);
    fireEvent.click(screen.getByTestId('done'));
    expect(onClose).toHaveBeenCalledWith({ outcome: 'ended', state });
  });

  it('keeps polling through network failures and says it is reconnecting', async () => {
    const f = fakeFetch().on('GET', STATUS_URL, { networkError: 'down' }, { networkError: 'down' }, reply({ stage: 'waiting_card' }));
    renderWait(f);
    expect(await screen.findByTestId('wait-reconnecting')).toBeTruthy();
    await waitFor(() => expect(screen.queryByTestId('wait-reconnecting')).toBeNull());
    expect(screen.getByTestId('wait-stage').textContent).toBe('Insert, tap or swipe the card');
  });

  it('ends when the payment is unknown to the server', async () => {
    const { onClose } = renderWait(fakeFetch().on('GET', STATUS_URL, { status: 404, body: posError('POS_SUBMIT_NOT_FOUND') }));
    await screen.findByTestId('wait-final-ended');
    fireEvent.click(screen.getByTestId('done'));
    expect(onClose).toHaveBeenCalledWith({ outcome: 'ended', state: 'not_found' });
  });

  it('closes by itself after an approval when the host asks for it', async () => {
    const f = fakeFetch().on('GET', STATUS_URL, reply({ state: 'approved', result: { status: 'approved', cardBrand: 'Elo', lastDigits: '0005', message: null } }));
    const { onClose } = renderWait(f, { autoCloseMs: 20 });
    await waitFor(() => expect(onClose).toHaveBeenCalledWith({ outcome: 'approved', cardBrand: 'Elo', lastDigits: '0005' }));
  });
});

describe('wait for confirmation: countdown', () => {
  it('counts down secondsWaiting and times out', async () => {
    vi.useFakeTimers();
    const { onClose } = renderWait(fakeFetch(), { payload: waitPayload(3, null) });
    expect(screen.getByTestId('wait-countdown').textContent).toBe('0:03 left');
    expect(screen.getByTestId('wait-countdown').getAttribute('aria-label')).toBe('0 minutes 3 seconds left');
    expect(screen.getByTestId('wait-stage').textContent).toBe('Follow the instructions on the terminal screen.');
    act(() => {
      vi.advanceTimersByTime(1000);
    });
    expect(screen.getByTestId('wait-countdown').textContent).toBe('0:02 left');
    act(() => {
      vi.advanceTimersByTime(2000);
    });
    expect(screen.getByTestId('wait-final-timeout').textContent).toContain('Time is up');
    fireEvent.click(screen.getByTestId('done'));
    expect(onClose).toHaveBeenCalledWith({ outcome: 'timeout' });
  });

  it('follows the server clock when it reports secondsRemaining', async () => {
    renderWait(fakeFetch().on('GET', STATUS_URL, reply({ stage: 'waiting_card', secondsRemaining: 125 })), { payload: waitPayload(600) });
    await waitFor(() => expect(screen.getByTestId('wait-countdown').textContent).toBe('2:05 left'));
  });
});

describe('wait for confirmation: language, payload and accessibility', () => {
  it.each([
    ['pt-BR', 'Pagamento em andamento', '✓ Aprovado', 'R$ 10,50 · Crédito'],
    ['es-MX', 'Pago en curso', '✓ Aprobado', '10,50 BRL · Crédito'],
  ])('speaks %s', async (locale, title, approved, amount) => {
    renderWait(fakeFetch().on('GET', STATUS_URL, reply({ state: 'approved', result: { status: 'approved', cardBrand: 'Visa', lastDigits: '1234', message: null } })), { locale });
    expect(screen.getByRole('heading', { name: title })).toBeTruthy();
    expect((await screen.findByTestId('wait-final-approved')).textContent).toContain(approved);
    expect(screen.getByTestId('wait-amount').textContent?.replace(/\s/g, ' ')).toBe(amount);
  });

  it('closes with invalid_payload when the payload is not usable', () => {
    const { onClose } = renderWait(fakeFetch(), { payload: 'not json' });
    fireEvent.click(screen.getByTestId('done'));
    expect(onClose).toHaveBeenCalledWith({ outcome: 'ended', state: 'invalid_payload' });
  });

  it('labels every control', async () => {
    renderWait(fakeFetch().on('GET', STATUS_URL, reply({ state: 'approved', result: { status: 'approved', cardBrand: 'Visa', lastDigits: '1234', message: null } })));
    await screen.findByTestId('done');
    expect(countControls(document.body)).toBe(1);
    expect(unlabelledControls(document.body)).toEqual([]);
  });
});

describe('wait for confirmation: Cancel on terminal', () => {
  const CANCEL_URL = 'https://pos.example/pos/v1/cancel/tok123';
  const payload = JSON.stringify({ secondsWaiting: 300, statusUrl: STATUS_URL, cancelUrl: CANCEL_URL });

  it('stops the sale through cancelUrl and ends as cancelled', async () => {
    const f = fakeFetch()
      .on('GET', STATUS_URL, reply({ stage: 'waiting_card' }), reply({ stage: 'waiting_card' }), reply({ state: 'cancelled', secondsRemaining: null }))
      .on('POST', CANCEL_URL, reply({ state: 'in_progress', stage: 'waiting_card' }));
    const { onClose } = renderWait(f, { payload });
    const button = await screen.findByTestId('cancel-on-terminal');
    expect(button.getAttribute('aria-label')).toBe('Stop this sale on the terminal and cancel the payment');
    fireEvent.click(button);
    await screen.findByTestId('wait-final-ended');
    expect(f.calls.filter((c) => c.method === 'POST').map((c) => c.url)).toEqual([CANCEL_URL]);
    expect(screen.queryByTestId('cancel-on-terminal')).toBeNull();
    fireEvent.click(screen.getByTestId('done'));
    expect(onClose).toHaveBeenCalledWith({ outcome: 'ended', state: 'cancelled' });
  });

  it('says so when the server refuses (the card may be charged) or cannot be reached, and hides the button without a cancelUrl', async () => {
    const f = fakeFetch().on('GET', STATUS_URL, reply({ stage: 'processing' })).on('POST', CANCEL_URL, { networkError: 'offline' }, { status: 409, body: posError('POS_CANCEL_REFUSED') });
    renderWait(f, { payload, locale: 'pt-BR' });
    fireEvent.click(await screen.findByTestId('cancel-on-terminal'));
    expect((await screen.findByTestId('cancel-failed')).textContent).toBe('Sem conexão com o servidor de pagamento para cancelar. Tente de novo.');
    fireEvent.click(screen.getByTestId('cancel-on-terminal'));
    expect((await screen.findByTestId('cancel-refused')).textContent).toContain('não pode mais ser cancelado');
    expect(screen.queryByTestId('cancel-on-terminal')).toBeNull();
    cleanup();
    renderWait(fakeFetch().on('GET', STATUS_URL, reply({ stage: 'processing' })));
    await screen.findByTestId('wait-stage');
    expect(screen.queryByTestId('cancel-on-terminal')).toBeNull();
  });
});
