import { act, cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ScannerError, type ConnectorResult, type TerminalScanner } from '../index.ts';
import { countControls, unlabelledControls } from '../testing/a11y.ts';
import { fakeFetch, type FakeFetch } from '../testing/fake-fetch.ts';
import { connectorPayload, posError, status, STATUS_URL, SUBMIT_URL, terminal, TERMINALS_URL } from '../testing/fixtures.ts';
import { TerminalConnectorScreen } from './TerminalConnectorScreen.tsx';

afterEach(cleanup);

const ok = (serialNumber: string, state = 'dispatched') => ({ status: 200, body: { paymentId: 'PAY1', serialNumber, state } });

function renderConnector(fetch: FakeFetch, options: { payload?: string; locale?: string; scanner?: TerminalScanner } = {}) {
  const onClose = vi.fn<(r: ConnectorResult) => void>();
  const view = render(
    <TerminalConnectorScreen
      payload={options.payload ?? connectorPayload()}
      locale={options.locale ?? 'en-US'}
      onClose={onClose}
      fetch={fetch.fetch}
      scanner={options.scanner}
      closeDelayMs={20}
      pollIntervalMs={10}
      confirmTimeoutMs={300}
    />,
  );
  return { onClose, view };
}

function typeAndSend(serial: string) {
  fireEvent.change(screen.getByLabelText('Terminal serial number'), { target: { value: serial } });
  fireEvent.click(screen.getByTestId('submit'));
}

describe('terminal connector: typed serial', () => {
  it('POSTs the typed serial to submitUrl, shows "sent", then closes with the result', async () => {
    const f = fakeFetch().on('POST', SUBMIT_URL, ok('SIM0001'));
    const { onClose } = renderConnector(f);
    typeAndSend(' sim0001 ');
    expect(await screen.findByTestId('connector-sent')).toHaveProperty('textContent', '✓ Sent to terminal SIM0001');
    expect(f.calls).toEqual([{ method: 'POST', url: SUBMIT_URL, body: { serialNumber: 'SIM0001' } }]);
    await waitFor(() => expect(onClose).toHaveBeenCalledWith({ outcome: 'submitted', paymentId: 'PAY1', serialNumber: 'SIM0001' }));
    expect(onClose).toHaveBeenCalledTimes(1);
  });

  it('keeps the send button disabled until something is typed', () => {
    renderConnector(fakeFetch());
    expect(screen.getByTestId('submit').getAttribute('aria-disabled')).toBe('true');
    fireEvent.change(screen.getByLabelText('Terminal serial number'), { target: { value: 'SIM0001' } });
    expect(screen.getByTestId('submit').getAttribute('aria-disabled')).not.toBe('true');
    expect(screen.getByTestId('submit').textContent).toBe('Send to terminal SIM0001');
  });

  it('refuses an invalid serial without calling the server', async () => {
    const f = fakeFetch();
    renderConnector(f);
    typeAndSend('SIM 0001!');
    expect((await screen.findByTestId('connector-problem')).textContent).toMatch(/"SIM 0001!" is not a valid serial number/);
    expect(f.calls).toEqual([]);
    fireEvent.click(screen.getByTestId('change'));
    expect((screen.getByLabelText('Terminal serial number') as unknown as { value: string }).value).toBe('SIM 0001!');
  });
});

describe('terminal connector: server problems', () => {
  const cases: { name: string; answer: Parameters<FakeFetch['on']>[2]; text: RegExp; retry: boolean; change: boolean }[] = [
    { name: 'unknown terminal', answer: { status: 404, body: posError('POS_TERMINAL_UNKNOWN') }, text: /Terminal SIM0009 was not found\. Check the serial number on its label/, retry: false, change: true },
    { name: 'terminal offline', answer: { status: 503, body: posError('POS_TERMINAL_OFFLINE', true) }, text: /Terminal SIM0009 is offline/, retry: true, change: true },
    { name: 'already bound', answer: { status: 409, body: posError('POS_ALREADY_BOUND') }, text: /already sent to another terminal/, retry: false, change: false },
    { name: 'payment final', answer: { status: 410, body: posError('POS_PAYMENT_FINAL') }, text: /already finished/, retry: false, change: false },
    { name: 'expired or cancelled payment', answer: { status: 404, body: posError('POS_SUBMIT_NOT_FOUND') }, text: /expired or was cancelled/, retry: false, change: false },
    { name: 'invalid serial (server)', answer: { status: 400, body: posError('POS_INVALID_SERIAL') }, text: /is not a valid serial number/, retry: false, change: true },
    { name: 'network failure', answer: { networkError: 'Failed to fetch' }, text: /No connection to the payment server/, retry: true, change: true },
    { name: 'server failure without an error body', answer: { status: 502, body: '<html>bad gateway</html>' }, text: /payment server had a problem/, retry: true, change: true },
  ];
  for (const c of cases) {
    it(`explains ${c.name} and offers ${[c.retry && 'retry', c.change && 'change', 'close'].filter(Boolean).join(', ')}`, async () => {
      const f = fakeFetch().on('POST', SUBMIT_URL, c.answer);
      renderConnector(f);
      typeAndSend('SIM0009');
      expect((await screen.findByTestId('connector-problem')).textContent).toMatch(c.text);
      expect(screen.queryByTestId('retry') !== null).toBe(c.retry);
      expect(screen.queryByTestId('change') !== null).toBe(c.change);
      expect(screen.getByTestId('close')).toBeTruthy();
      expect(unlabelledControls(document.body)).toEqual([]);
    });
  }

  it('retries the same terminal after it comes back online', async () => {
    const f = fakeFetch().on('POST', SUBMIT_URL, { status: 503, body: posError('POS_TERMINAL_OFFLINE', true) }, ok('SIM0009'));
    const { onClose } = renderConnector(f);
    typeAndSend('SIM0009');
    await screen.findByTestId('connector-problem');
    expect(screen.getByTestId('retry').getAttribute('aria-label')).toBe('Try again with terminal SIM0009');
    fireEvent.click(screen.getByTestId('retry'));
    await screen.findByTestId('connector-sent');
    expect(f.calls.map((c) => c.body)).toEqual([{ serialNumber: 'SIM0009' }, { serialNumber: 'SIM0009' }]);
    await waitFor(() => expect(onClose).toHaveBeenCalledWith({ outcome: 'submitted', paymentId: 'PAY1', serialNumber: 'SIM0009' }));
  });

  it('retries after a network failure', async () => {
    const f = fakeFetch().on('POST', SUBMIT_URL, { networkError: 'offline' }, ok('SIM0001'));
    renderConnector(f);
    typeAndSend('SIM0001');
    await screen.findByTestId('connector-problem');
    fireEvent.click(screen.getByTestId('retry'));
    await screen.findByTestId('connector-sent');
  });

  it('closes as failed when the payment cannot go on, as cancelled when the clerk gives up', async () => {
    const f = fakeFetch().on('POST', SUBMIT_URL, { status: 410, body: posError('POS_PAYMENT_FINAL') });
    const first = renderConnector(f);
    typeAndSend('SIM0001');
    await screen.findByTestId('connector-problem');
    fireEvent.click(screen.getByTestId('close'));
    expect(first.onClose).toHaveBeenCalledWith({ outcome: 'failed', reason: 'payment_final' });
    cleanup();

    const second = renderConnector(fakeFetch());
    fireEvent.click(screen.getByTestId('cancel'));
    expect(second.onClose).toHaveBeenCalledWith({ outcome: 'cancelled' });
  });

  it('rejects a payload without submitUrl', () => {
    const { onClose } = renderConnector(fakeFetch(), { payload: '{"secondsWaiting":30}' });
    expect(screen.getByTestId('connector-problem').textContent).toMatch(/cannot be opened/);
    fireEvent.click(screen.getByTestId('close'));
    expect(onClose).toHaveBeenCalledWith({ outcome: 'failed', reason: 'invalid_payload' });
  });
});

describe('terminal connector: confirmation through statusUrl', () => {
  it('reports a busy terminal when the payment falls back to awaiting_terminal', async () => {
    const f = fakeFetch()
      .on('POST', SUBMIT_URL, ok('SIM0001'))
      .on('GET', STATUS_URL, { status: 200, body: status({ state: 'dispatched' }) }, { status: 200, body: status({ state: 'awaiting_terminal', serialNumber: null }) });
    const { onClose } = renderConnector(f, { payload: connectorPayload({ statusUrl: STATUS_URL }) });
    typeAndSend('SIM0001');
    expect((await screen.findByTestId('connector-problem')).textContent).toMatch(/Terminal SIM0001 is busy with another payment/);
    expect(screen.getByTestId('retry')).toBeTruthy();
    expect(onClose).not.toHaveBeenCalled();
  });

  it('closes once the terminal has taken the payment', async () => {
    const f = fakeFetch()
      .on('POST', SUBMIT_URL, ok('SIM0001'))
      .on('GET', STATUS_URL, { status: 200, body: status({ state: 'dispatched' }) }, { status: 200, body: status({ state: 'in_progress', stage: 'waiting_card' }) });
    const { onClose } = renderConnector(f, { payload: connectorPayload({ statusUrl: STATUS_URL }) });
    typeAndSend('SIM0001');
    expect(await screen.findByTestId('connector-confirming')).toBeTruthy();
    await screen.findByTestId('connector-sent');
    await waitFor(() => expect(onClose).toHaveBeenCalledWith({ outcome: 'submitted', paymentId: 'PAY1', serialNumber: 'SIM0001' }));
  });

  it('reports an expired payment seen while confirming', async () => {
    const f = fakeFetch().on('POST', SUBMIT_URL, ok('SIM0001')).on('GET', STATUS_URL, { status: 200, body: status({ state: 'expired' }) });
    renderConnector(f, { payload: connectorPayload({ statusUrl: STATUS_URL }) });
    typeAndSend('SIM0001');
    expect((await screen.findByTestId('connector-problem')).textContent).toMatch(/expired or was cancelled/);
  });

  it('hands over after the confirmation window even if the status stays dispatched', async () => {
    const f = fakeFetch().on('POST', SUBMIT_URL, ok('SIM0001')).on('GET', STATUS_URL, { status: 200, body: status({ state: 'dispatched' }) });
    const { onClose } = renderConnector(f, { payload: connectorPayload({ statusUrl: STATUS_URL }) });
    typeAndSend('SIM0001');
    await waitFor(() => expect(onClose).toHaveBeenCalledWith({ outcome: 'submitted', paymentId: 'PAY1', serialNumber: 'SIM0001' }), { timeout: 2000 });
  });
});

describe('terminal connector: store terminal list', () => {
  const terminals = [terminal('SIM0003', false), terminal('SIM0002', true, true), terminal('SIM0001', true, false, 'PBL Sim')];

  it('lists online terminals first, disables busy and offline ones, and sends the picked one', async () => {
    const f = fakeFetch().on('GET', TERMINALS_URL, { status: 200, body: { terminals } }).on('POST', SUBMIT_URL, ok('SIM0001'));
    renderConnector(f, { payload: connectorPayload({ terminalsUrl: TERMINALS_URL }) });
    const online = await screen.findByTestId('terminal-SIM0001');
    const rows = Array.from(screen.getByTestId('terminal-list').querySelectorAll('[data-testid^="terminal-SIM"]'));
    expect(rows.map((r) => r.getAttribute('aria-label'))).toEqual(['Terminal SIM0001, Online', 'Terminal SIM0002, Busy', 'Terminal SIM0003, Offline']);
    expect(screen.getByTestId('terminal-SIM0002').getAttribute('aria-disabled')).toBe('true');
    expect(screen.getByTestId('terminal-SIM0003').getAttribute('aria-disabled')).toBe('true');
    fireEvent.click(screen.getByTestId('terminal-SIM0003'));
    expect((screen.getByLabelText('Terminal serial number') as unknown as { value: string }).value).toBe('');
    fireEvent.click(online);
    expect(online.getAttribute('aria-selected')).toBe('true');
    fireEvent.click(screen.getByTestId('submit'));
    await screen.findByTestId('connector-sent');
    expect(f.calls.at(-1)).toEqual({ method: 'POST', url: SUBMIT_URL, body: { serialNumber: 'SIM0001' } });
  });

  it('says so when the list cannot be loaded, and reloads on refresh', async () => {
    const f = fakeFetch().on('GET', TERMINALS_URL, { networkError: 'down' }, { status: 200, body: { terminals } });
    renderConnector(f, { payload: connectorPayload({ terminalsUrl: TERMINALS_URL }) });
    expect(await screen.findByText(/Could not load the terminal list/)).toBeTruthy();
    fireEvent.click(screen.getByTestId('refresh-terminals'));
    expect(await screen.findByTestId('terminal-SIM0001')).toBeTruthy();
  });
});

describe('terminal connector: camera scanner', () => {
  it('sends the serial read from a QR code', async () => {
    const scanner: TerminalScanner = { scan: vi.fn(async () => ({ kind: 'code' as const, text: 'https://pos.example/t?serial=sim0002' })) };
    const f = fakeFetch().on('POST', SUBMIT_URL, ok('SIM0002'));
    renderConnector(f, { scanner });
    fireEvent.click(screen.getByTestId('scan'));
    await screen.findByTestId('connector-sent');
    expect(f.calls[0]?.body).toEqual({ serialNumber: 'SIM0002' });
  });

  it('goes back to choosing when the clerk cancels the scan, and explains a camera failure', async () => {
    const scan = vi
      .fn<TerminalScanner['scan']>()
      .mockResolvedValueOnce({ kind: 'cancelled' })
      .mockRejectedValueOnce(new Error('camera permission denied'));
    renderConnector(fakeFetch(), { scanner: { scan } });
    fireEvent.click(screen.getByTestId('scan'));
    await waitFor(() => expect(screen.getByTestId('scan')).toBeTruthy());
    fireEvent.click(screen.getByTestId('scan'));
    expect((await screen.findByTestId('connector-problem')).textContent).toMatch(/camera could not read the code/);
    expect(screen.queryByTestId('retry')).toBeNull();
  });

  it.each([
    ['no-camera', /No camera was found on this device/],
    ['permission-denied', /The camera is blocked/],
    ['failed', /camera could not read the code/],
  ] as const)('explains a %s scanner failure and offers to choose another', async (reason, message) => {
    const scan = vi.fn<TerminalScanner['scan']>().mockRejectedValueOnce(new ScannerError(reason, 'test'));
    renderConnector(fakeFetch(), { scanner: { scan } });
    fireEvent.click(screen.getByTestId('scan'));
    expect((await screen.findByTestId('connector-problem')).textContent).toMatch(message);
    fireEvent.click(screen.getByTestId('change'));
    expect(screen.getByTestId('serial-input')).toBeTruthy();
  });

  it('a scanned code with no valid serial is refused before any request', async () => {
    const f = fakeFetch();
    renderConnector(f, { scanner: { scan: async () => ({ kind: 'code', text: 'SIM 0001!' }) } });
    fireEvent.click(screen.getByTestId('scan'));
    expect((await screen.findByTestId('connector-problem')).textContent).toMatch(/camera could not read the code/);
    expect(f.calls).toEqual([]);
  });

  it('aborts the scan (releases the camera) when the screen goes away', async () => {
    let signal: AbortSignal | undefined;
    const scan = vi.fn<TerminalScanner['scan']>((s) => {
      signal = s;
      return new Promise(() => undefined);
    });
    const { view } = renderConnector(fakeFetch(), { scanner: { scan } });
    fireEvent.click(screen.getByTestId('scan'));
    await screen.findByTestId('connector-scanning');
    expect(signal?.aborted).toBe(false);
    view.unmount();
    expect(signal?.aborted).toBe(true);
  });

  it('hides the scan button without a scanner', () => {
    renderConnector(fakeFetch());
    expect(screen.queryByTestId('scan')).toBeNull();
  });
});

describe('terminal connector: language and accessibility', () => {
  it.each([
    ['pt-BR', 'Qual maquininha?', 'Enviar para a maquininha'],
    ['pt_PT', 'Qual maquininha?', 'Enviar para a maquininha'],
    ['es-AR', '¿Qué terminal?', 'Enviar al terminal'],
    ['fr-FR', 'Which terminal?', 'Send to terminal'],
  ])('speaks the host locale %s', (locale, title, send) => {
    renderConnector(fakeFetch(), { locale });
    expect(screen.getByRole('heading', { name: title })).toBeTruthy();
    expect(screen.getByTestId('submit').textContent).toBe(send);
  });

  it('labels every control on every phase', async () => {
    let release: () => void = () => undefined;
    const f = fakeFetch()
      .on('GET', TERMINALS_URL, { status: 200, body: { terminals: [terminal('SIM0001'), terminal('SIM0002', false)] } })
      .on('POST', SUBMIT_URL, () => new Promise((resolve) => (release = () => resolve({ status: 200, json: async () => ok('SIM0001').body }))));
    renderConnector(f, {
      payload: connectorPayload({ terminalsUrl: TERMINALS_URL }),
      scanner: { scan: async () => ({ kind: 'cancelled' }) },
    });
    await screen.findByTestId('terminal-SIM0001');
    expect(countControls(document.body)).toBeGreaterThanOrEqual(6);
    expect(unlabelledControls(document.body)).toEqual([]);
    typeAndSend('SIM0001');
    expect(await screen.findByTestId('connector-sending')).toBeTruthy();
    expect(unlabelledControls(document.body)).toEqual([]);
    await act(async () => release());
    await screen.findByTestId('connector-sent');
    expect(unlabelledControls(document.body)).toEqual([]);
  });
});

describe("terminal connector: the device's store, remembered", () => {
  const store = (storeId: string, name: string) => ({ storeId, name });
  const terminals = [
    { ...terminal('DT0001'), store: store('sto_down', 'Downtown') },
    { ...terminal('DT0002'), store: store('sto_down', 'Downtown') },
    { ...terminal('MA0001'), store: store('sto_mall', 'Mall') },
  ];
  function memoryOf(initial: Record<string, string> = {}) {
    const values = new Map(Object.entries(initial));
    return { values, memory: { read: async (k: string) => values.get(k) ?? null, write: async (k: string, v: string) => void values.set(k, v) } };
  }
  function renderWithMemory(f: FakeFetch, memory: ReturnType<typeof memoryOf>['memory']) {
    render(
      <TerminalConnectorScreen
        payload={connectorPayload({ terminalsUrl: TERMINALS_URL })}
        locale="en"
        onClose={vi.fn()}
        fetch={f.fetch}
        memory={memory}
        closeDelayMs={20}
        pollIntervalMs={10}
        confirmTimeoutMs={300}
      />,
    );
  }

  it('asks once which store the device is in, lists only its terminals, and remembers store and last terminal', async () => {
    const f = fakeFetch().on('GET', TERMINALS_URL, { status: 200, body: { terminals } }).on('POST', SUBMIT_URL, ok('MA0001'));
    const m = memoryOf();
    renderWithMemory(f, m.memory);
    fireEvent.click(await screen.findByTestId('store-sto_mall'));
    expect(m.values.get('posbridge.payment-app.storeId')).toBe('sto_mall');
    expect(screen.getByTestId('store-line').textContent).toBe('Store: Mall');
    expect(screen.queryByTestId('terminal-DT0001')).toBeNull();
    fireEvent.click(screen.getByTestId('terminal-MA0001'));
    fireEvent.click(screen.getByTestId('submit'));
    await screen.findByTestId('connector-sent');
    await waitFor(() => expect(m.values.get('posbridge.payment-app.lastSerial')).toBe('MA0001'));
  });

  it('opens on the remembered store with the last terminal preselected; Change store asks again', async () => {
    const f = fakeFetch().on('GET', TERMINALS_URL, { status: 200, body: { terminals } });
    renderWithMemory(f, memoryOf({ 'posbridge.payment-app.storeId': 'sto_down', 'posbridge.payment-app.lastSerial': 'DT0002' }).memory);
    await waitFor(() => expect(screen.getByTestId('terminal-DT0002').getAttribute('aria-selected')).toBe('true'));
    expect(screen.queryByTestId('terminal-MA0001')).toBeNull();
    expect((screen.getByTestId('serial-input') as unknown as { value: string }).value).toBe('DT0002');
    fireEvent.click(screen.getByTestId('change-store'));
    expect(await screen.findByTestId('store-list')).toBeTruthy();
  });

  it('needs no store choice when every terminal is of one store, and survives a storage that fails', async () => {
    const f = fakeFetch().on('GET', TERMINALS_URL, { status: 200, body: { terminals: terminals.slice(0, 2) } });
    renderWithMemory(f, { read: () => Promise.reject(new Error('denied')), write: () => Promise.reject(new Error('denied')) });
    expect(await screen.findByTestId('terminal-DT0001')).toBeTruthy();
    expect(screen.queryByTestId('store-list')).toBeNull();
  });
});
