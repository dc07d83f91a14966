/**
 * *Cancel on terminal* over real HTTP, a WebSocket agent and SQLite on disk: the payment's token
 * stops a payment waiting for a terminal or running on one (payment.abort to the agent, then
 * cancelled), repeats answer the status, an approved payment or an unknown outcome is refused
 * (409 POS_CANCEL_REFUSED, never reversed from the app), a forged token is a 404, and the
 * gateway's next Create Payment answers denied.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import { PROTOCOL_VERSION, type ServerMessage } from '@posbridge/protocol/ws';
import { connectAgent, createPaymentBody, isServerMessage, nextId, startTestServer, type TestAgent, type TestServer } from '../testing/helpers.ts';

type Start = Extract<ServerMessage, { type: 'payment.start' }>;
type Abort = Extract<ServerMessage, { type: 'payment.abort' }>;
const isStart = isServerMessage('payment.start');
const isAbort = isServerMessage('payment.abort');

let t: TestServer & { dir: string };
let agent: TestAgent;
beforeAll(async () => {
  t = await startTestServer();
  agent = await connectAgent(t.server.url, (await t.server.issueAgentToken('till')).token);
  await agent.hello(['CXL0001']);
});
afterAll(async () => {
  await agent.close();
  await t.close();
});

async function urlsOf(paymentId: string): Promise<Record<string, string>> {
  const created = await t.createPayment(createPaymentBody({ paymentId }));
  return JSON.parse((created.json['paymentAppData'] as { payload: string }).payload) as Record<string, string>;
}
const post = async (url: string, body?: unknown) => {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
};
/** Binds the payment to the agent's terminal and acknowledges the start. */
async function running(paymentId: string, urls: Record<string, string>): Promise<void> {
  expect((await post(urls['submitUrl']!, { serialNumber: 'CXL0001' })).status).toBe(200);
  const start = await agent.waitForMessage((m): m is Start => isStart(m) && m.paymentId === paymentId);
  agent.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: start.id });
  await waitFor(async () => (await t.server.store.getPayment(paymentId))?.status === 'accepted', { timeoutMs: 5000, message: 'accepted' });
}

describe('POST /pos/v1/cancel/:token', () => {
  it('cancels a payment still waiting for a terminal; repeats answer the same; the gateway then sees denied', async () => {
    const urls = await urlsOf('CX1');
    const first = await post(urls['cancelUrl']!);
    expect(first).toMatchObject({ status: 200, json: { paymentId: 'CX1', state: 'cancelled' } });
    expect((await post(urls['cancelUrl']!)).json).toMatchObject({ state: 'cancelled' });
    expect((await post(urls['submitUrl']!, { serialNumber: 'CXL0001' })).json).toMatchObject({ code: 'POS_PAYMENT_FINAL' });
    expect((await t.createPayment(createPaymentBody({ paymentId: 'CX1' }))).json).toMatchObject({ status: 'denied' });
    expect(t.lines.some((l) => l['msg'] === 'payment cancelled by the clerk' && l['paymentId'] === 'CX1')).toBe(true);
  });

  it('stops a sale running on the terminal: payment.abort, then cancelled once the terminal denies', async () => {
    const urls = await urlsOf('CX2');
    await running('CX2', urls);
    expect((await post(urls['cancelUrl']!)).status).toBe(200);
    const abort = await agent.waitForMessage((m): m is Abort => isAbort(m) && m.paymentId === 'CX2');
    expect(abort.reason).toBe('cancelled');
    expect((await t.server.store.getPayment('CX2'))?.status).toBe('aborting');
    agent.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: abort.id });
    agent.send({
      v: PROTOCOL_VERSION, id: nextId(), type: 'payment.result', paymentId: 'CX2', outcome: 'denied',
      amount: { amountMinor: 3190, currency: 'BRL' }, terminalRef: 'ref-CX2', message: 'cancelled on the terminal',
    });
    await waitFor(async () => (await t.server.store.getPayment('CX2'))?.status === 'cancelled', { timeoutMs: 5000, message: 'cancelled' });
    expect((await fetch(urls['statusUrl']!).then((r) => r.json())) as Record<string, unknown>).toMatchObject({ state: 'cancelled' });
  });

  it('refuses an approved payment and an unknown outcome, changing nothing', async () => {
    const urls = await urlsOf('CX3');
    await running('CX3', urls);
    agent.send({
      v: PROTOCOL_VERSION, id: nextId(), type: 'payment.result', paymentId: 'CX3', outcome: 'approved', authorizationId: 'A1', nsu: '1',
      card: { brand: 'Visa', firstDigits: '411111', lastDigits: '1111' }, amount: { amountMinor: 3190, currency: 'BRL' }, terminalRef: 'ref-CX3',
    });
    await waitFor(async () => (await t.server.store.getPayment('CX3'))?.status === 'approved', { timeoutMs: 5000, message: 'approved' });
    expect(await post(urls['cancelUrl']!)).toMatchObject({ status: 409, json: { code: 'POS_CANCEL_REFUSED', retryable: false } });
    expect((await t.server.store.getPayment('CX3'))?.status).toBe('approved');

    const unknown = await urlsOf('CX4');
    await running('CX4', unknown);
    agent.send({
      v: PROTOCOL_VERSION, id: nextId(), type: 'payment.result', paymentId: 'CX4', outcome: 'unknown',
      amount: { amountMinor: 3190, currency: 'BRL' }, terminalRef: 'ref-CX4', message: 'no answer',
    });
    await waitFor(async () => (await t.server.store.getPayment('CX4'))?.status === 'unknown', { timeoutMs: 5000, message: 'unknown' });
    expect(await post(unknown['cancelUrl']!)).toMatchObject({ status: 409, json: { code: 'POS_CANCEL_REFUSED' } });
    expect(await t.server.store.getPayment('CX4')).toMatchObject({ status: 'unknown', endReason: null });
  });

  it('answers a forged or another payment-less token 404 like every Payment App route', async () => {
    const urls = await urlsOf('CX5');
    const forged = urls['cancelUrl']!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    expect(await post(forged)).toMatchObject({ status: 404, json: { code: 'POS_SUBMIT_NOT_FOUND' } });
    expect((await t.server.store.getPayment('CX5'))?.status).toBe('awaiting_terminal');
  });
});
