/**
 * Concurrent follow-up requests on one payment, against the real server (HTTP on port 0,
 * SQLite on disk) and a fake agent over a real WebSocket that answers every operation at once:
 * cancel racing settle must leave exactly one winner, and a refund an agent refuses because its
 * terminal is busy is a retryable 500, never `refund-manually` (docs/ppp.md "Concurrent requests").
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import { PROTOCOL_VERSION, type ServerMessage } from '@posbridge/protocol/ws';
import {
  AUTH_HEADERS,
  connectAgent,
  createPaymentBody,
  nextId,
  startCallbackReceiver,
  startTestServer,
  type TestAgent,
  type TestServer,
} from '../testing/helpers.ts';

type Start = Extract<ServerMessage, { type: 'payment.start' }>;
type OpStart = Extract<ServerMessage, { type: 'operation.start' }>;

let t: TestServer;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
let agent: TestAgent;
/** operationIds of every `operation.start` the agent received (and answered). */
const voided = new Set<string>();
/** How the fake agent answers an operation (default: approved). */
let answerOf: (m: OpStart) => { outcome: 'approved' | 'denied'; code?: 'TERM_BUSY'; message?: string } = () => ({ outcome: 'approved' });

beforeEach(async () => {
  voided.clear();
  answerOf = () => ({ outcome: 'approved' });
  t = await startTestServer();
  receiver = await startCallbackReceiver();
  agent = await connectAgent(t.server.url, (await t.server.issueAgentToken('front-desk')).token);
  // The fake terminal: acks every start, reverses every void at once.
  agent.ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as ServerMessage;
    if (m.type !== 'operation.start' || voided.has(m.operationId)) return;
    voided.add(m.operationId);
    agent.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: m.id });
    agent.send({
      v: PROTOCOL_VERSION,
      id: nextId(),
      type: 'operation.result',
      operationId: m.operationId,
      paymentId: m.paymentId,
      kind: m.kind,
      ...answerOf(m),
      amount: m.amount,
      terminalRef: `op-${m.operationId.slice(0, 20)}`,
    });
  });
  await agent.hello(['SN1']);
});
afterEach(async () => {
  await agent.close();
  await t.close();
  await receiver.close();
});

async function post(path: string, body: unknown) {
  const res = await fetch(`${t.server.url}${path}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...AUTH_HEADERS },
    body: JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/**
 * Runs `fn` after `ms` milliseconds. Real time on purpose: it staggers real concurrent HTTP
 * requests by a few ms so they interleave differently at the server (the race is the subject).
 */
function later<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => setTimeout(() => void fn().then(resolve, reject), ms));
}

/** Creates a payment, binds SN1 and has the terminal approve it. */
async function approved(paymentId: string): Promise<void> {
  const res = await t.createPayment(createPaymentBody({ paymentId, callbackUrl: `${receiver.url}/cb/${paymentId}` }));
  const urls = JSON.parse((res.json['paymentAppData'] as { payload: string }).payload) as Record<string, string>;
  const bound = await fetch(urls['submitUrl']!, { method: 'POST', body: JSON.stringify({ serialNumber: 'SN1' }), headers: { 'Content-Type': 'application/json' } });
  expect(bound.status).toBe(200);
  const start = await agent.waitForMessage((m): m is Start => m.type === 'payment.start' && m.paymentId === paymentId);
  agent.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: start.id });
  agent.send({
    v: PROTOCOL_VERSION,
    id: nextId(),
    type: 'payment.result',
    paymentId,
    outcome: 'approved',
    amount: { amountMinor: 3190, currency: 'BRL' },
    terminalRef: `ref-${paymentId}`,
    authorizationId: 'AUTH1',
    nsu: '42',
    responseCode: '00',
  });
  await waitFor(async () => (await t.server.store.getPayment(paymentId))?.status === 'approved', { timeoutMs: 5000, message: 'approved' });
}

describe('cancel racing settle', () => {
  it('exactly one wins, every trial: voided and refused to settle, or settled and cancel-manually', async () => {
    const TRIALS = 40;
    const outcomes = { cancelWon: 0, settleWon: 0 };
    for (let i = 0; i < TRIALS; i++) {
      const paymentId = `RACE${i}`;
      await approved(paymentId);
      // Settle leaves 0–4 ms after cancel, so every interleaving of their store steps gets tried.
      const cancelBody = { paymentId, requestId: `C${i}`, authorizationId: 'AUTH1', transactionId: 'TX1' };
      const [firstCancel, settle] = await Promise.all([
        post(`/payments/${paymentId}/cancellations`, cancelBody),
        later(i % 5, () =>
          post(`/payments/${paymentId}/settlements`, { paymentId, requestId: `S${i}`, value: 31.9, authorizationId: 'AUTH1', transactionId: 'TX1' }),
        ),
      ]);
      // On a loaded machine the void may outlast the answer budget: VTEX repeats until it is final.
      let cancel = firstCancel;
      for (let n = 0; cancel.status === 500 && cancel.json['code'] === 'PPP_OPERATION_PENDING' && n < 20; n++) {
        cancel = await post(`/payments/${paymentId}/cancellations`, cancelBody);
      }
      const voidSent = agent.messages.some((m): m is OpStart => m.type === 'operation.start' && m.paymentId === paymentId);
      const p = await t.server.store.getPayment(paymentId);
      const totals = await t.server.store.operationTotals(paymentId);
      const trial = { i, cancel: cancel.status, cancelCode: cancel.json['code'], settle: settle.status, settleCode: settle.json['code'], voidSent, status: p?.status, settled: totals.settledMinor };
      // Never both: a voided payment is never settled, a settled one never voided.
      expect(cancel.status === 200 && settle.status === 200, JSON.stringify(trial)).toBe(false);
      expect(voidSent && totals.settledMinor > 0, JSON.stringify(trial)).toBe(false);
      if (settle.status === 200) {
        outcomes.settleWon++;
        expect(trial).toMatchObject({ cancel: 501, cancelCode: 'cancel-manually', voidSent: false, status: 'approved', settled: 3190 });
        expect(String(cancel.json['message'])).toContain('settled');
      } else {
        outcomes.cancelWon++;
        expect(trial).toMatchObject({ cancel: 200, cancelCode: null, settle: 500, voidSent: true, status: 'cancelled', settled: 0 });
        // The loser gets the PPP failure shape with a code that says why.
        expect(settle.json).toMatchObject({ paymentId, settleId: null, value: 0, code: 'PPP_PAYMENT_CANCELLED', requestId: `S${i}` });
        expect(String(settle.json['message'])).not.toContain('is approved');
      }
    }
    expect(outcomes.cancelWon + outcomes.settleWon).toBe(TRIALS);
  }, 120_000);
});

describe('a refund refused because the terminal is busy', () => {
  it('answers a retryable 500 PPP_TERMINAL_BUSY (nothing stored); the repeat is a new attempt', async () => {
    await approved('BZ1');
    expect((await post('/payments/BZ1/settlements', { paymentId: 'BZ1', requestId: 'S1', value: 31.9, authorizationId: 'AUTH1', transactionId: 'TX1' })).status).toBe(200);
    const refund = (requestId: string) =>
      post('/payments/BZ1/refunds', { paymentId: 'BZ1', requestId, value: 30, settleId: 'se', tid: 'pb', transactionId: 'TX1' });
    // An agent reporting the refusal with its code, then one that predates the code (message only).
    const refusals = [
      { outcome: 'denied' as const, code: 'TERM_BUSY' as const, message: 'TERM_BUSY: terminal is busy with another transaction' },
      { outcome: 'denied' as const, message: 'TERM_BUSY: terminal is busy with another transaction' },
    ];
    answerOf = () => refusals.shift() ?? { outcome: 'approved' };
    for (let attempt = 0; attempt < 2; attempt++) {
      const busy = await refund('F1');
      expect(busy).toMatchObject({ status: 500, json: { paymentId: 'BZ1', refundId: null, value: 0, code: 'PPP_TERMINAL_BUSY', requestId: 'F1' } });
      // Released: nothing reserved, so the limit is intact.
      expect(await t.server.store.operationTotals('BZ1')).toEqual({ settledMinor: 3190, refundedMinor: 0, refundingMinor: 0 });
      expect(await t.server.store.findOperation('BZ1', 'refund', 'F1')).toBeNull();
    }
    const done = await refund('F1');
    expect(done).toMatchObject({ status: 200, json: { value: 30, code: null, refundId: expect.stringMatching(/^rf_/) } });
    const refundOps = agent.messages.filter((m): m is OpStart => m.type === 'operation.start' && m.paymentId === 'BZ1');
    expect(new Set(refundOps.map((m) => m.operationId)).size).toBe(3);
    expect(done.json['refundId']).toBe(refundOps.at(-1)!.operationId);
    expect(await refund('F1')).toEqual(done);
    expect(await t.server.store.operationTotals('BZ1')).toEqual({ settledMinor: 3190, refundedMinor: 3000, refundingMinor: 0 });
    expect(t.lines.some((l) => l['msg'] === 'refund not taken: terminal busy; VTEX repeats the request' && l['level'] === 40)).toBe(true);
  });
});
