/**
 * The answer budget of a follow-up request is measured on the injected clock (time injected: the
 * operation service reads no wall clock). A cancellation waiting on the terminal that is woken
 * after its budget passed on that clock answers 500 `PPP_OPERATION_PENDING` at once, instead of
 * waiting again. Real server (HTTP on port 0, SQLite), fake agent over a real WebSocket.
 */
import { afterEach, beforeEach, expect, it } from 'vitest';
import { PROTOCOL_VERSION, type ServerMessage } from '@posbridge/protocol/ws';
import {
  AUTH_HEADERS,
  connectAgent,
  createPaymentBody,
  nextId,
  startTestServer,
  type TestAgent,
  type TestServer,
} from '../testing/helpers.ts';
import { waitFor } from '@posbridge/testkit';

type Start = Extract<ServerMessage, { type: 'payment.start' }>;
type Abort = Extract<ServerMessage, { type: 'payment.abort' }>;

const BUDGET_MS = 4000;
let clock: number;
let t: TestServer;
let agent: TestAgent;

beforeEach(async () => {
  clock = Date.UTC(2026, 0, 1, 12);
  t = await startTestServer({ POSBRIDGE_ANSWER_BUDGET_MS: String(BUDGET_MS) }, undefined, { now: () => clock, manualDeadlines: true });
  agent = await connectAgent(t.server.url, (await t.server.issueAgentToken('front-desk')).token);
  await agent.hello(['SN1']);
});
afterEach(async () => {
  await agent.close();
  await t.close();
});

it('a cancellation woken after its budget passed on the injected clock answers PPP_OPERATION_PENDING at once', async () => {
  const created = await t.createPayment(createPaymentBody({ paymentId: 'B1' }));
  const urls = JSON.parse((created.json['paymentAppData'] as { payload: string }).payload) as Record<string, string>;
  const bound = await fetch(urls['submitUrl']!, { method: 'POST', body: JSON.stringify({ serialNumber: 'SN1' }), headers: { 'Content-Type': 'application/json' } });
  expect(bound.status).toBe(200);
  const start = await agent.waitForMessage((m): m is Start => m.type === 'payment.start' && m.paymentId === 'B1');
  agent.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: start.id });
  await waitFor(async () => (await t.server.store.getPayment('B1'))?.status === 'accepted', { timeoutMs: 5000, message: 'accepted' });

  const began = performance.now();
  const pending = fetch(`${t.server.url}/payments/B1/cancellations`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...AUTH_HEADERS },
    body: JSON.stringify({ paymentId: 'B1', requestId: 'C1', authorizationId: 'AUTH1', transactionId: 'TX1' }),
  });
  // The request now waits on the terminal; the agent never answers the abort.
  await agent.waitForMessage((m): m is Abort => m.type === 'payment.abort' && m.paymentId === 'B1');
  clock += BUDGET_MS + 1;
  // Progress wakes the waiting request (a change of the payment) after its budget passed.
  agent.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'payment.progress', paymentId: 'B1', stage: 'processing' });
  const res = await pending;
  expect(res.status).toBe(500);
  expect(((await res.json()) as Record<string, unknown>)['code']).toBe('PPP_OPERATION_PENDING');
  expect(performance.now() - began).toBeLessThan(BUDGET_MS / 2);
});
