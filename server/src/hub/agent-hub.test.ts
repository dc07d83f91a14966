import WebSocket from 'ws';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type PaymentResult, type ServerMessage } from '@posbridge/protocol/ws';
import {
  connectAgent,
  createPaymentBody,
  nextId,
  startCallbackReceiver,
  startTestServer,
  type TestAgent,
  type TestServer,
  isServerMessage,
} from '../testing/helpers.ts';
import { waitFor } from '@posbridge/testkit';

type Start = Extract<ServerMessage, { type: 'payment.start' }>;
type Ack = Extract<ServerMessage, { type: 'ack' }>;
const isStart = isServerMessage('payment.start');
const isAck = isServerMessage('ack');
const isError = isServerMessage('error');

let t: TestServer;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
const agents: TestAgent[] = [];

beforeEach(async () => {
  t = await startTestServer();
  receiver = await startCallbackReceiver();
});
afterEach(async () => {
  await Promise.all(agents.splice(0).map((a) => a.close()));
  await t.close();
  await receiver.close();
});

async function agent(token: string): Promise<TestAgent> {
  const a = await connectAgent(t.server.url, token);
  agents.push(a);
  return a;
}

/** Creates a payment and returns its submitUrl. */
async function createPayment(paymentId: string): Promise<string> {
  const res = await t.createPayment(
    createPaymentBody({ paymentId, callbackUrl: `${receiver.url}/cb/${paymentId}?accountName=shop&X-VTEX-signature=s1g` }),
  );
  expect(res.status).toBe(200);
  return (JSON.parse((res.json['paymentAppData'] as { payload: string }).payload) as { submitUrl: string }).submitUrl;
}

async function submit(submitUrl: string, serialNumber: string) {
  const res = await fetch(submitUrl, { method: 'POST', body: JSON.stringify({ serialNumber }), headers: { 'Content-Type': 'application/json' } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/**
 * Proves the hub's resend ticker has made `passes` more passes over `a`'s session: a probe payment
 * is bound to `serial` (another terminal of the same session) and left unacknowledged until its
 * start has come `passes` more times, then acknowledged. Every pass lists what is due on all the
 * session's terminals, so any other command still due would have been re-sent in those passes.
 * @returns the probe's start (acknowledged, so it is accepted).
 */
async function resendPasses(a: TestAgent, serial: string, paymentId: string, passes = 3): Promise<Start> {
  expect((await submit(await createPayment(paymentId), serial)).status).toBe(200);
  const isProbe = (m: ServerMessage): m is Start => isStart(m) && m.paymentId === paymentId;
  const first = await a.waitForMessage(isProbe);
  await a.waitForMessage(isProbe, 1 + passes);
  a.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: first.id });
  await waitFor(async () => (await t.server.store.getPayment(paymentId))?.status === 'accepted', { timeoutMs: 5000, message: `${paymentId} accepted` });
  return first;
}

function result(start: Start, overrides: Partial<PaymentResult> = {}): PaymentResult {
  return {
    v: PROTOCOL_VERSION,
    id: nextId(),
    type: 'payment.result',
    paymentId: start.paymentId,
    outcome: 'approved',
    amount: start.amount,
    terminalRef: 'rid-1',
    authorizationId: 'AUTH-9',
    nsu: 'NSU-7',
    tid: 'TID-5',
    responseCode: '00',
    message: 'APROVADA',
    card: { brand: 'Mastercard', firstDigits: '534696', lastDigits: '6921' },
    ...overrides,
  };
}

describe('agent upgrade', () => {
  it('refuses a missing or wrong token with HTTP 401 before upgrading', async () => {
    await expect(connectAgent(t.server.url, 'not-a-real-token-at-all-xxxxxxxx')).rejects.toThrow('HTTP 401');
    const ws = new WebSocket(`${t.server.url.replace('http', 'ws')}/agent/v1`);
    const status = await new Promise<number | undefined>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode));
      ws.once('error', () => resolve(undefined));
    });
    expect(status).toBe(401);
  });

  it('hello → welcome; a serial live on another agent is refused', async () => {
    const one = await t.server.issueAgentToken('one');
    const two = await t.server.issueAgentToken('two');
    const a = await agent(one.token);
    const welcome = await a.hello(['SN1', 'SN2']);
    expect(welcome).toMatchObject({ agentId: one.agentId, accepted: ['SN1', 'SN2'], refused: [], heartbeatIntervalMs: 5000 });
    const b = await agent(two.token);
    const welcome2 = await b.hello(['SN2', 'SN3']);
    expect(welcome2.accepted).toEqual(['SN3']);
    expect(welcome2.refused).toEqual([{ serialNumber: 'SN2', code: 'WS_SERIAL_CLAIMED', message: expect.any(String) }]);
    expect(t.lines.find((l) => l['msg'] === 'agent connected' && l['agentId'] === one.agentId)).toMatchObject({
      component: 'hub',
      agentName: 'one',
      terminals: ['SN1', 'SN2'],
    });
  });

  it('answers bad frames with error messages and closes on repeated abuse', async () => {
    const { token } = await t.server.issueAgentToken('bad');
    const a = await agent(token);
    a.sendRaw('not json');
    const err = await a.waitForMessage(isError);
    expect(err.code).toBe('WS_BAD_MESSAGE');
    a.send({ v: PROTOCOL_VERSION, id: 'x1', type: 'ack', ackOf: 'y' });
    expect((await a.waitForMessage(isError, 2)).message).toMatch(/agent\.hello/);
    const closed = new Promise<number>((resolve) => a.ws.once('close', (code) => resolve(code)));
    for (let i = 0; i < 5; i++) a.sendRaw('{}');
    expect(await closed).toBe(1008);
  });

  it('terminates a session that stops answering pings', async () => {
    await t.close();
    t = await startTestServer({ POSBRIDGE_HEARTBEAT_INTERVAL_MS: '60' });
    const { token } = await t.server.issueAgentToken('silent');
    const ws = new WebSocket(`${t.server.url.replace('http', 'ws')}/agent/v1`, {
      headers: { Authorization: `Bearer ${token}` },
      autoPong: false,
    });
    await new Promise((resolve) => ws.once('open', resolve));
    const code = await new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
    expect(code).toBe(1006);
  });
});

describe('payment flow through the hub', () => {
  it('submit → start (re-sent until ack) → result → ack, approved, one callback', async () => {
    const { token, agentId } = await t.server.issueAgentToken('store-1');
    const a = await agent(token);
    await a.hello(['SN1', 'SN9']); // SN9 carries the probes
    const submitUrl = await createPayment('PAY1');

    const bound = await submit(submitUrl, 'SN1');
    expect(bound).toEqual({ status: 200, json: { paymentId: 'PAY1', serialNumber: 'SN1', state: 'dispatched' } });

    const start = await a.waitForMessage(isStart);
    expect(start).toMatchObject({
      paymentId: 'PAY1',
      serialNumber: 'SN1',
      amount: { amountMinor: 3190, currency: 'BRL' },
      method: 'credit',
      installments: 1,
    });
    // Not acknowledged: the same start comes again, with the same id.
    const repeat = await a.waitForMessage(isStart, 2);
    expect(repeat.id).toBe(start.id);

    // Idempotent submit; the wait app is answered from now on.
    expect((await submit(submitUrl, 'SN1')).status).toBe(200);
    const polled = await t.createPayment(createPaymentBody({ paymentId: 'PAY1', callbackUrl: 'https://ignored.example/' }));
    expect(polled.json).toMatchObject({
      status: 'undefined',
      paymentAppData: { appName: 'vtex.challenge-wait-for-confirmation', payload: expect.stringMatching(/^\{"secondsWaiting":300,"statusUrl":"http:[^"]+\/pos\/v1\/status\/[^"]+","cancelUrl":"http:[^"]+\/pos\/v1\/cancel\/[^"]+"\}$/) },
    });

    a.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: start.id });
    await waitFor(async () => (await t.server.store.getPayment('PAY1'))?.status === 'accepted', { timeoutMs: 5000, message: 'accepted' });
    const startsAtAck = a.messages.filter((m) => isStart(m) && m.paymentId === 'PAY1').length;
    const probe = await resendPasses(a, 'SN9', 'PROBE1');
    expect(a.messages.filter((m) => isStart(m) && m.paymentId === 'PAY1').length).toBe(startsAtAck);

    a.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'payment.progress', paymentId: 'PAY1', stage: 'pin' });
    await waitFor(async () => (await t.server.store.getPayment('PAY1'))?.progressStage === 'pin', { timeoutMs: 5000, message: 'progress' });

    const res = result(start);
    a.send(res);
    const ack = await a.waitForMessage((m): m is Ack => isAck(m) && m.ackOf === res.id);
    expect(ack.ackOf).toBe(res.id);
    expect((await t.server.store.getPayment('PAY1'))?.status).toBe('approved');

    const cb = await waitFor(() => receiver.received[0], { timeoutMs: 4000, message: 'callback' });
    expect(cb.method).toBe('POST');
    expect(cb.url).toBe('/cb/PAY1?accountName=shop&X-VTEX-signature=s1g');
    expect(cb.headers['content-type']).toBe('application/json');
    expect(cb.headers['x-vtex-api-appkey']).toBe('partner-key');
    expect(cb.headers['x-vtex-api-apptoken']).toBe('partner-token');
    const body = JSON.parse(cb.body) as Record<string, unknown>;
    expect(body).toEqual({
      paymentId: 'PAY1',
      status: 'approved',
      authorizationId: 'AUTH-9',
      nsu: 'NSU-7',
      tid: 'TID-5',
      acquirer: 'posbridge',
      code: '00',
      message: 'APROVADA',
      delayToAutoSettle: 1200,
      delayToAutoSettleAfterAntifraud: 1200,
      delayToCancel: 900,
      cardBrand: 'Mastercard',
      firstDigits: '534696',
      lastDigits: '6921',
      maxValue: 31.9,
    });

    // The agent repeats the result (its ack was "lost"): acknowledged again, applied once.
    a.send(res);
    await a.waitForMessage((m): m is Ack => isAck(m) && m.ackOf === res.id, 2);
    await waitFor(() => t.lines.some((l) => l['msg'] === 'callback delivered' && l['paymentId'] === 'PAY1'), { timeoutMs: 4000, message: 'delivered log' });
    // Probe: a later callback through the same outbox and worker; a second PAY1 callback, due
    // earlier, would be claimed before it.
    a.send(result(probe));
    await waitFor(() => t.lines.some((l) => l['msg'] === 'callback delivered' && l['paymentId'] === 'PROBE1'), { timeoutMs: 4000, message: 'probe delivered' });
    expect(receiver.received.map((r) => r.url)).toEqual(['/cb/PAY1?accountName=shop&X-VTEX-signature=s1g', '/cb/PROBE1?accountName=shop&X-VTEX-signature=s1g']);
    const events = await t.server.store.listPaymentEvents('PAY1');
    expect(events.filter((e) => e.type === 'result.received')).toHaveLength(1);
    expect((await t.server.store.listCallbacks('PAY1')).map((c) => c.status)).toEqual(['delivered']);

    // Create Payment now answers the final status with the card fields.
    const final = await t.createPayment(createPaymentBody({ paymentId: 'PAY1' }));
    expect(final.json).toMatchObject({ status: 'approved', authorizationId: 'AUTH-9', cardBrand: 'Mastercard', maxValue: 31.9 });
    expect(final.json['paymentAppData']).toBeUndefined();

    // Submit after the end: 410.
    expect((await submit(submitUrl, 'SN1')).json['code']).toBe('POS_PAYMENT_FINAL');

    // The demo timeline's hop events, in order, with paymentId.
    const hops = t.lines
      .filter((l) => l['paymentId'] === 'PAY1' && l['level'] === 30)
      .map((l) => l['msg'])
      .filter((m) =>
        ['payment created', 'terminal bound', 'payment dispatched', 'payment accepted by agent', 'payment result received', 'callback delivered'].includes(
          String(m),
        ),
      );
    expect(hops.slice(0, 6)).toEqual([
      'payment created',
      'terminal bound',
      'payment dispatched',
      'payment accepted by agent',
      'payment result received',
      'callback delivered',
    ]);
    expect(t.lines.find((l) => l['msg'] === 'payment dispatched')).toMatchObject({ component: 'hub', serialNumber: 'SN1', agentId });
    expect(t.lines.find((l) => l['msg'] === 'callback delivered')).toMatchObject({ component: 'callback', status: 'approved', httpStatus: 200, attempt: 1 });
  });

  it('409 when bound to another serial; 503 when the terminal agent is gone', async () => {
    const { token } = await t.server.issueAgentToken('store-1');
    const a = await agent(token);
    await a.hello(['SN1', 'SN2']);
    const submitUrl = await createPayment('PAY2');
    expect((await submit(submitUrl, 'SN1')).status).toBe(200);
    const other = await submit(submitUrl, 'SN2');
    expect(other).toEqual({ status: 409, json: { code: 'POS_ALREADY_BOUND', message: expect.any(String), retryable: false } });

    await a.close();
    await waitFor(() => t.lines.some((l) => l['msg'] === 'agent disconnected'), { timeoutMs: 5000, message: 'disconnect' });
    const offline = await submit(await createPayment('PAY3'), 'SN2');
    expect(offline).toEqual({ status: 503, json: { code: 'POS_TERMINAL_OFFLINE', message: expect.any(String), retryable: true } });
  });

  it('re-sends unacknowledged starts when the agent reconnects', async () => {
    const { token } = await t.server.issueAgentToken('store-1');
    const a = await agent(token);
    await a.hello(['SN1']);
    await submit(await createPayment('PAY4'), 'SN1');
    const first = await a.waitForMessage(isStart);
    await a.close();

    const b = await agent(token);
    await b.hello(['SN1']);
    const again = await b.waitForMessage(isStart);
    expect(again.id).toBe(first.id);
    expect(again.paymentId).toBe('PAY4');
  });

  it('a second connection of the same agent replaces the first', async () => {
    const { token } = await t.server.issueAgentToken('store-1');
    const a = await agent(token);
    await a.hello(['SN1']);
    const closed = new Promise<number>((resolve) => a.ws.once('close', (code) => resolve(code)));
    const b = await agent(token);
    expect((await b.hello(['SN1'])).accepted).toEqual(['SN1']);
    expect(await closed).toBe(4000);
    await submit(await createPayment('PAY5'), 'SN1');
    expect((await b.waitForMessage(isStart)).paymentId).toBe('PAY5');
  });

  it('payment.rejected unbinds the payment so another terminal can be chosen', async () => {
    const { token } = await t.server.issueAgentToken('store-1');
    const a = await agent(token);
    await a.hello(['SN1', 'SN2', 'SN9']); // SN9 carries the probe
    const submitUrl = await createPayment('PAY6');
    await submit(submitUrl, 'SN1');
    const start = await a.waitForMessage(isStart);
    const rejected = { v: PROTOCOL_VERSION, id: nextId(), type: 'payment.rejected', paymentId: 'PAY6', code: 'TERM_BUSY', message: 'busy' } as const;
    a.send(rejected);
    await a.waitForMessage((m): m is Ack => isAck(m) && m.ackOf === rejected.id);
    expect((await t.server.store.getPayment('PAY6'))?.status).toBe('awaiting_terminal');
    const startsAfter = a.messages.filter((m) => isStart(m) && m.paymentId === 'PAY6').length;
    await resendPasses(a, 'SN9', 'PROBE6');
    expect(a.messages.filter((m) => isStart(m) && m.paymentId === 'PAY6').length).toBe(startsAfter); // resend stopped

    const answer = await t.createPayment(createPaymentBody({ paymentId: 'PAY6' }));
    expect((answer.json['paymentAppData'] as { appName: string }).appName).toBe('vtex.terminal-connector-app');
    expect((await submit(submitUrl, 'SN2')).status).toBe(200);
    const restart = await a.waitForMessage((m): m is Start => isStart(m) && m.serialNumber === 'SN2');
    expect(restart.id).not.toBe(start.id);
  });

  it('a rebind is a new attempt: a new startId, and a repeated rejection of the old attempt does not unbind it', async () => {
    const { token } = await t.server.issueAgentToken('store-1');
    const a = await agent(token);
    await a.hello(['SN1']);
    const submitUrl = await createPayment('PAY6B');
    await submit(submitUrl, 'SN1');
    const first = await a.waitForMessage(isStart);
    const rejected = {
      v: PROTOCOL_VERSION,
      id: nextId(),
      type: 'payment.rejected',
      paymentId: 'PAY6B',
      code: 'TERM_BUSY',
      message: 'busy',
      startId: first.id,
    } as const;
    a.send(rejected);
    await a.waitForMessage((m): m is Ack => isAck(m) && m.ackOf === rejected.id);
    expect((await t.server.store.getPayment('PAY6B'))?.status).toBe('awaiting_terminal');

    // The same terminal, now idle, is chosen again: a new attempt with its own startId, persisted.
    expect((await submit(submitUrl, 'SN1')).status).toBe(200);
    const second = await a.waitForMessage((m): m is Start => isStart(m) && m.id !== first.id);
    expect((await t.server.store.getPayment('PAY6B'))?.binding?.startId).toBe(second.id);
    // The agent's outbox repeats the old rejection (its ack was lost): acknowledged, not applied.
    a.send({ ...rejected });
    await a.waitForMessage((m): m is Ack => isAck(m) && m.ackOf === rejected.id, 2);
    expect((await t.server.store.getPayment('PAY6B'))?.status).toBe('dispatched');
    expect((await t.server.store.getPayment('PAY6B'))?.binding?.startId).toBe(second.id);
    // Repeats of the new attempt keep its id.
    expect((await a.waitForMessage((m): m is Start => isStart(m) && m.id === second.id, 2)).paymentId).toBe('PAY6B');
  });

  it('unknown outcome stays undefined until a later result resolves it', async () => {
    const { token } = await t.server.issueAgentToken('store-1');
    const a = await agent(token);
    await a.hello(['SN1']);
    await submit(await createPayment('PAY7'), 'SN1');
    const start = await a.waitForMessage(isStart);
    const unknown = result(start, { outcome: 'unknown' });
    a.send(unknown);
    await a.waitForMessage((m): m is Ack => isAck(m) && m.ackOf === unknown.id);
    const pending = await t.createPayment(createPaymentBody({ paymentId: 'PAY7' }));
    expect(pending.json['status']).toBe('undefined');
    // An unknown outcome is an alert: logged at error (issue 10 item 5; was warn).
    expect(t.lines.some((l) => l['level'] === 50 && l['paymentId'] === 'PAY7' && String(l['msg']).includes('unknown'))).toBe(true);
    expect(receiver.received).toHaveLength(0);

    const denied = result(start, { outcome: 'denied', responseCode: '51', authorizationId: undefined });
    delete (denied as Partial<PaymentResult>).authorizationId;
    a.send(denied);
    await a.waitForMessage((m): m is Ack => isAck(m) && m.ackOf === denied.id);
    const final = await t.createPayment(createPaymentBody({ paymentId: 'PAY7' }));
    expect(final.json).toMatchObject({ status: 'denied', authorizationId: null, code: '51' });
    const cb = await waitFor(() => receiver.received[0], { timeoutMs: 4000, message: 'callback' });
    expect(JSON.parse(cb.body)).toMatchObject({ paymentId: 'PAY7', status: 'denied', authorizationId: null });
  });
});
