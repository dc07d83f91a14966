/**
 * Unknown outcomes (issue 10 item 5), against the real server
 * (HTTP on port 0, SQLite on disk, injected clock) and a fake agent over a real WebSocket. Every
 * PPP body is validated against the OpenAPI.
 *
 * An outcome the terminal could not tell stays `unknown` (`undefined` to VTEX) with an alert
 * (error log, `posbridge_payments_unknown`), is never guessed denied at its deadline nor on a
 * cancellation, and is resolved by an operator (`PaymentService.resolveUnknown`, the CLI's
 * `payment resolve`) with who/when/why in the payment's events and the callback enqueued.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import { isCodedError } from '@posbridge/protocol/errors';
import { PROTOCOL_VERSION, type ServerMessage } from '@posbridge/protocol/ws';
import {
  AUTH_HEADERS,
  connectAgent,
  createPaymentBody,
  nextId,
  startCallbackReceiver,
  startTestServer,
  tempDir,
  type TestAgent,
  type TestServer,
  isServerMessage,
} from '../testing/helpers.ts';
import { expectPppContract } from '../testing/ppp-contract.ts';

type Start = Extract<ServerMessage, { type: 'payment.start' }>;
type Abort = Extract<ServerMessage, { type: 'payment.abort' }>;
type OpStart = Extract<ServerMessage, { type: 'operation.start' }>;
const isStart = isServerMessage('payment.start');
const isAbort = isServerMessage('payment.abort');
const isOp = isServerMessage('operation.start');

const UNKNOWN_ALERT = 'payment outcome unknown; resolve it with posbridge-server payment resolve';
const CANCEL = '/payments/{paymentId}/cancellations';

let clock: number;
let t: TestServer;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
let agent: TestAgent;
let agentToken: string;

beforeEach(async () => {
  clock = Date.UTC(2026, 0, 1, 12);
  t = await startTestServer({}, undefined, { now: () => clock, manualDeadlines: true });
  receiver = await startCallbackReceiver();
  agentToken = (await t.server.issueAgentToken('front-desk')).token;
  agent = await connectAgent(t.server.url, agentToken);
  await agent.hello(['SN1']);
});
afterEach(async () => {
  await agent.close();
  await t.close();
  await receiver.close();
});

async function call(method: string, path: string, body?: unknown) {
  const res = await fetch(`${t.server.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...AUTH_HEADERS },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: (text ? JSON.parse(text) : null) as Record<string, unknown> };
}

const paymentBody = (paymentId: string, overrides: Record<string, unknown> = {}) =>
  createPaymentBody({ paymentId, callbackUrl: `${receiver.url}/cb/${paymentId}?X-VTEX-signature=abc`, ...overrides });

/** Create Payment (repeat = poll), contract-checked. */
async function poll(paymentId: string) {
  const res = await call('POST', '/payments', paymentBody(paymentId));
  expect(res.status).toBe(200);
  expectPppContract('/payments', 'post', 200, res.json);
  return res.json;
}

/** Creates a payment, binds SN1, acks the start. */
async function started(paymentId: string): Promise<void> {
  const created = await poll(paymentId);
  const urls = JSON.parse((created['paymentAppData'] as { payload: string }).payload) as Record<string, string>;
  const bound = await fetch(urls['submitUrl']!, { method: 'POST', body: JSON.stringify({ serialNumber: 'SN1' }), headers: { 'Content-Type': 'application/json' } });
  expect(bound.status).toBe(200);
  const start = await agent.waitForMessage((m): m is Start => isStart(m) && m.paymentId === paymentId);
  agent.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: start.id });
  await waitFor(async () => (await t.server.store.getPayment(paymentId))?.status === 'accepted', { timeoutMs: 5000, message: 'accepted' });
}

function sendResult(paymentId: string, outcome: 'approved' | 'denied' | 'unknown'): void {
  agent.send({
    v: PROTOCOL_VERSION,
    id: nextId(),
    type: 'payment.result',
    paymentId,
    outcome,
    amount: { amountMinor: 3190, currency: 'BRL' },
    terminalRef: `ref-${paymentId}`,
    ...(outcome === 'unknown' ? { message: 'outcome unknown: no answer from the terminal' } : {}),
    ...(outcome === 'approved' ? { authorizationId: 'AUTH1', nsu: '42', responseCode: '00' } : {}),
  });
}

/**
 * Proof that whatever the server owed the agent and VTEX before this point has gone out: a fresh
 * payment on SN1 reaches the agent as `payment.start`, and the callback of its approval reaches
 * the receiver. Commands to one agent and callbacks go out in order, so an abort, operation or
 * callback the server had to send earlier would have arrived first.
 */
async function barrier(paymentId: string): Promise<void> {
  await started(paymentId);
  sendResult(paymentId, 'approved');
  await waitFor(() => callbacksOf(paymentId).length > 0, { timeoutMs: 5000, message: `the callback of ${paymentId}` });
}

/** Started, then the agent reports `unknown`. */
async function unknownPayment(paymentId: string): Promise<void> {
  await started(paymentId);
  sendResult(paymentId, 'unknown');
  await waitFor(async () => (await t.server.store.getPayment(paymentId))?.status === 'unknown', { timeoutMs: 5000, message: 'unknown' });
}

const cancelBody = (paymentId: string, requestId: string) => ({ paymentId, requestId, authorizationId: 'AUTH1', transactionId: 'TX1' });
const metricsText = async (url = t.server.url) => (await fetch(`${url}/metrics`)).text();
const callbacksOf = (paymentId: string) => receiver.received.filter((r) => r.url.startsWith(`/cb/${paymentId}?`));

describe('unknown outcomes', () => {
  it('are flagged: one error log with a stable message, the posbridge_payments_unknown gauge, `undefined` to VTEX', async () => {
    expect(await metricsText()).toContain('posbridge_payments_unknown 0');
    await unknownPayment('UK1');
    const alerts = t.lines.filter((l) => l['msg'] === UNKNOWN_ALERT);
    expect(alerts).toEqual([expect.objectContaining({ level: 50, paymentId: 'UK1', serialNumber: 'SN1', terminalRef: 'ref-UK1' })]);
    expect(await metricsText()).toContain('posbridge_payments_unknown 1');
    expect(await poll('UK1')).toMatchObject({ status: 'undefined', authorizationId: null, paymentAppData: { appName: 'vtex.challenge-wait-for-confirmation' } });
  });

  it('are never guessed at the deadline: no abort, no callback, still unknown and flagged', async () => {
    await unknownPayment('UK2');
    clock += 3600 * 1000;
    await t.server.service.expireDue();
    await barrier('UK2-AFTER');
    expect(await t.server.store.getPayment('UK2')).toMatchObject({ status: 'unknown', deadlineAt: null });
    expect(agent.messages.some((m) => isAbort(m) && m.paymentId === 'UK2')).toBe(false);
    expect(callbacksOf('UK2')).toHaveLength(0);
    expect((await poll('UK2'))['status']).toBe('undefined');
    expect(await metricsText()).toContain('posbridge_payments_unknown 1');
  });

  it('a cancellation is answered at once with PPP_OUTCOME_UNKNOWN, stays flagged, and is honoured once resolved', async () => {
    await unknownPayment('UK3');
    const began = Date.now();
    const first = await call('POST', '/payments/UK3/cancellations', cancelBody('UK3', 'C1'));
    expect(Date.now() - began).toBeLessThan(1500); // well inside the answer budget, let alone 20 s
    expect(first.status).toBe(500);
    expectPppContract(CANCEL, 'post', 500, first.json);
    expect(first.json).toMatchObject({ paymentId: 'UK3', requestId: 'C1', cancellationId: null, code: 'PPP_OUTCOME_UNKNOWN' });
    expect(String(first.json['message'])).toContain('posbridge-server payment resolve');
    // The abort goes to the agent (it may stop the sale and learn the outcome); the agent answers
    // unknown again, as a Concert agent does: never denied on its own, nothing to VTEX.
    const abort = await agent.waitForMessage((m): m is Abort => isAbort(m) && m.paymentId === 'UK3');
    expect(abort.reason).toBe('cancelled');
    agent.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: abort.id });
    sendResult('UK3', 'unknown');
    await waitFor(async () => (await t.server.store.getPayment('UK3'))?.endReason === 'cancelled', { timeoutMs: 5000, message: 'the abort ending unknown' });
    await barrier('UK3-AFTER');
    expect(await t.server.store.getPayment('UK3')).toMatchObject({ status: 'unknown', endReason: 'cancelled' });
    expect((await poll('UK3'))['status']).toBe('undefined');
    expect(callbacksOf('UK3')).toHaveLength(0);
    expect(await metricsText()).toContain('posbridge_payments_unknown 1');
    // VTEX repeats: same answer while unresolved.
    expect((await call('POST', '/payments/UK3/cancellations', cancelBody('UK3', 'C1'))).json).toMatchObject({ code: 'PPP_OUTCOME_UNKNOWN' });

    // The operator finds the sale approved on the terminal's journal: VTEX's next attempt reverses it.
    const resolved = await t.server.service.resolveUnknown('UK3', { outcome: 'approved', reason: 'approved on the terminal journal', operator: 'alice' });
    expect(resolved.status).toBe('approved');
    expect(callbacksOf('UK3')).toHaveLength(0);
    const retry = call('POST', '/payments/UK3/cancellations', cancelBody('UK3', 'C1'));
    const op = await agent.waitForMessage((m): m is OpStart => isOp(m) && m.paymentId === 'UK3');
    expect(op).toMatchObject({ kind: 'void', originalTerminalRef: 'ref-UK3' });
    agent.send({
      v: PROTOCOL_VERSION, id: nextId(), type: 'operation.result', operationId: op.operationId, paymentId: 'UK3',
      kind: 'void', outcome: 'approved', amount: op.amount, terminalRef: 'void-1',
    });
    const done = await retry;
    expect(done.status).toBe(200);
    expectPppContract(CANCEL, 'post', 200, done.json);
    expect((await t.server.store.getPayment('UK3'))?.status).toBe('cancelled');
    expect(await metricsText()).toContain('posbridge_payments_unknown 0');
  });

  it('a cancellation waiting on the terminal answers PPP_OUTCOME_UNKNOWN when the abort ends unknown', async () => {
    await started('UK4');
    const pending = call('POST', '/payments/UK4/cancellations', cancelBody('UK4', 'C4'));
    const abort = await agent.waitForMessage((m): m is Abort => isAbort(m) && m.paymentId === 'UK4');
    agent.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: abort.id });
    sendResult('UK4', 'unknown');
    const res = await pending;
    expect(res.status).toBe(500);
    expectPppContract(CANCEL, 'post', 500, res.json);
    expect(res.json['code']).toBe('PPP_OUTCOME_UNKNOWN');
    expect(await t.server.store.getPayment('UK4')).toMatchObject({ status: 'unknown', endReason: 'cancelled' });
    expect(t.lines.some((l) => l['msg'] === UNKNOWN_ALERT && l['paymentId'] === 'UK4' && l['cancelRequested'] === true)).toBe(true);
    // Denied by the operator → cancelled; the repeat is answered 200, VTEX gets no callback.
    await t.server.service.resolveUnknown('UK4', { outcome: 'denied', reason: 'no sale on the terminal journal', operator: 'bob' });
    const repeat = await call('POST', '/payments/UK4/cancellations', cancelBody('UK4', 'C4'));
    expect(repeat.status).toBe(200);
    expect((await t.server.store.getPayment('UK4'))?.status).toBe('cancelled');
    expect(callbacksOf('UK4')).toHaveLength(0);
  });

  it('a terminal approval after an operator resolved the payment denied is reversed on the terminal and alerted, never ignored', async () => {
    await unknownPayment('UK10');
    await t.server.service.resolveUnknown('UK10', { outcome: 'denied', reason: 'looked like no sale', operator: 'carol' });
    await waitFor(() => callbacksOf('UK10').length === 1, { timeoutMs: 5000, message: 'denied callback' });
    // The agent's background STATUS check learns the truth: the terminal charged the card.
    sendResult('UK10', 'approved');
    const voidOp = await agent.waitForMessage((m): m is OpStart => isOp(m) && m.paymentId === 'UK10');
    expect(voidOp).toMatchObject({ kind: 'void', amount: { amountMinor: 3190, currency: 'BRL' }, originalTerminalRef: 'ref-UK10' });
    expect(await t.server.store.getPayment('UK10')).toMatchObject({ status: 'reversing' });
    expect(t.lines.find((l) => l['msg'] === 'terminal result contradicts the recorded outcome')).toMatchObject({
      level: 50,
      paymentId: 'UK10',
      recorded: 'denied',
      reported: 'approved',
    });
    agent.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: voidOp.id });
    agent.send({
      v: PROTOCOL_VERSION,
      id: nextId(),
      type: 'operation.result',
      operationId: voidOp.operationId,
      paymentId: 'UK10',
      kind: 'void',
      outcome: 'approved',
      amount: voidOp.amount,
      terminalRef: 'void-ref',
    });
    await waitFor(async () => (await t.server.store.getPayment('UK10'))?.status === 'cancelled', { timeoutMs: 5000, message: 'reversed' });
    expect((await poll('UK10'))['status']).toBe('denied');
    expect(callbacksOf('UK10')).toHaveLength(1);
  });

  it('the abort of a cancelled unknown payment is delivered again to a reconnecting agent', async () => {
    await unknownPayment('UK8');
    expect((await call('POST', '/payments/UK8/cancellations', cancelBody('UK8', 'C8'))).json['code']).toBe('PPP_OUTCOME_UNKNOWN');
    await agent.waitForMessage((m): m is Abort => isAbort(m) && m.paymentId === 'UK8');
    await agent.close();
    await waitFor(() => !t.server.hub.onlineSerials().has('SN1'), { timeoutMs: 5000, message: 'agent gone' });
    agent = await connectAgent(t.server.url, agentToken);
    await agent.hello(['SN1']);
    const again = await agent.waitForMessage((m): m is Abort => isAbort(m) && m.paymentId === 'UK8');
    expect(again.reason).toBe('cancelled');
    // The terminal stopped it before charging: denied → cancelled, answered 200 to VTEX's repeat, no callback.
    sendResult('UK8', 'denied');
    await waitFor(async () => (await t.server.store.getPayment('UK8'))?.status === 'cancelled', { timeoutMs: 5000, message: 'cancelled' });
    expect((await call('POST', '/payments/UK8/cancellations', cancelBody('UK8', 'C8'))).status).toBe(200);
    expect(callbacksOf('UK8')).toHaveLength(0);
  });

  it('an operator resolution records who, when and why, and sends the callback', async () => {
    await unknownPayment('UK5');
    clock += 90_000;
    const p = await t.server.service.resolveUnknown('UK5', {
      outcome: 'approved', reason: 'receipt 000123 printed, customer copy seen', operator: 'alice', authorizationId: 'RCPT-77',
    });
    expect(p).toMatchObject({ status: 'approved', outcome: { outcome: 'approved', authorizationId: 'RCPT-77' } });
    const events = await t.server.store.listPaymentEvents('UK5');
    expect(events.at(-1)).toMatchObject({
      type: 'operator.resolved', fromStatus: 'unknown', toStatus: 'approved', at: clock,
      data: { outcome: 'approved', authorizationId: 'RCPT-77', operator: 'alice', reason: 'receipt 000123 printed, customer copy seen' },
    });
    const cb = await waitFor(() => callbacksOf('UK5')[0], { timeoutMs: 3000, message: 'callback' });
    expect(JSON.parse(cb.body)).toMatchObject({ paymentId: 'UK5', status: 'approved', authorizationId: 'RCPT-77' });
    expect(await poll('UK5')).toMatchObject({ status: 'approved', authorizationId: 'RCPT-77' });
    expect(t.lines.some((l) => l['msg'] === 'unknown payment resolved by an operator' && l['operator'] === 'alice')).toBe(true);

    await unknownPayment('UK6');
    await t.server.service.resolveUnknown('UK6', { outcome: 'denied', reason: 'declined on the receipt', operator: 'alice' });
    const denied = await waitFor(() => callbacksOf('UK6')[0], { timeoutMs: 3000, message: 'callback' });
    expect(JSON.parse(denied.body)).toMatchObject({ status: 'denied', authorizationId: null });

    // Only an unknown payment can be resolved; bounds are checked.
    const refusal = (id: string, r: Parameters<typeof t.server.service.resolveUnknown>[1]) =>
      t.server.service.resolveUnknown(id, r).then(
        () => 'resolved',
        (err: unknown) => (isCodedError(err) ? err.code : String(err)),
      );
    expect(await refusal('UK5', { outcome: 'denied', reason: 'again', operator: 'alice' })).toBe('ADMIN_RESOLVE_REFUSED');
    expect(await refusal('NOPE', { outcome: 'denied', reason: 'x', operator: 'alice' })).toBe('ADMIN_RESOLVE_REFUSED');
    await unknownPayment('UK7');
    expect(await refusal('UK7', { outcome: 'denied', reason: ' ', operator: 'alice' })).toBe('ADMIN_RESOLVE_REFUSED');
    expect(await refusal('UK7', { outcome: 'denied', reason: 'x', operator: 'alice', authorizationId: 'A1' })).toBe('ADMIN_RESOLVE_REFUSED');
    expect(await refusal('UK7', { outcome: 'approved', reason: 'x'.repeat(501), operator: 'alice' })).toBe('ADMIN_RESOLVE_REFUSED');
    expect((await t.server.store.getPayment('UK7'))?.status).toBe('unknown');
  });

  it('the gauge is derived from the store, so it is right after a restart', async () => {
    const tmp = tempDir();
    try {
      const first = await startTestServer({}, tmp.dir, { now: () => clock, manualDeadlines: true });
      const a = await connectAgent(first.server.url, (await first.server.issueAgentToken('desk')).token);
      await a.hello(['SN9']);
      const created = await first.createPayment(createPaymentBody({ paymentId: 'UKR' }));
      const urls = JSON.parse((created.json['paymentAppData'] as { payload: string }).payload) as Record<string, string>;
      await fetch(urls['submitUrl']!, { method: 'POST', body: JSON.stringify({ serialNumber: 'SN9' }), headers: { 'Content-Type': 'application/json' } });
      await a.waitForMessage(isStart);
      a.send({
        v: PROTOCOL_VERSION, id: nextId(), type: 'payment.result', paymentId: 'UKR', outcome: 'unknown',
        amount: { amountMinor: 3190, currency: 'BRL' }, terminalRef: 'r',
      });
      await waitFor(async () => (await first.server.store.getPayment('UKR'))?.status === 'unknown', { timeoutMs: 5000, message: 'unknown' });
      await a.close();
      await first.close();
      const second = await startTestServer({}, tmp.dir, { now: () => clock, manualDeadlines: true });
      try {
        expect(await metricsText(second.server.url)).toContain('posbridge_payments_unknown 1');
      } finally {
        await second.close();
      }
    } finally {
      tmp.cleanup();
    }
  });
});

describe('unknown reversals (a void whose answer was lost)', () => {
  const APPROVAL = { authorizationId: 'AUTH1', nsu: '42', card: { brand: 'Visa', firstDigits: '411111', lastDigits: '1111' } };

  /** Approved with card data, then VTEX cancels and the agent answers the void `unknown`. */
  async function unknownReversal(paymentId: string) {
    await started(paymentId);
    agent.send({
      v: PROTOCOL_VERSION, id: nextId(), type: 'payment.result', paymentId, outcome: 'approved',
      amount: { amountMinor: 3190, currency: 'BRL' }, terminalRef: `ref-${paymentId}`, responseCode: '00', ...APPROVAL,
    });
    await waitFor(async () => (await t.server.store.getPayment(paymentId))?.status === 'approved', { timeoutMs: 5000, message: 'approved' });
    const pending = call('POST', `/payments/${paymentId}/cancellations`, cancelBody(paymentId, `C-${paymentId}`));
    const voidOp = await agent.waitForMessage((m): m is OpStart => isOp(m) && m.paymentId === paymentId);
    expect(voidOp.kind).toBe('void');
    agent.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: voidOp.id });
    agent.send({
      v: PROTOCOL_VERSION, id: nextId(), type: 'operation.result', operationId: voidOp.operationId, paymentId,
      kind: 'void', outcome: 'unknown', amount: voidOp.amount, terminalRef: `void-${paymentId}`, message: 'no answer from the terminal',
    });
    const first = await pending;
    return { first, voidOp };
  }

  /** Everything of the approval the terminal reported is still on the payment. */
  async function expectApprovalKept(paymentId: string): Promise<void> {
    expect((await t.server.store.getPayment(paymentId))?.outcome).toMatchObject({
      outcome: 'approved', terminalRef: `ref-${paymentId}`, responseCode: '00', ...APPROVAL,
    });
  }

  it('is flagged like an unknown sale: the alert, the gauge, and PPP_OUTCOME_UNKNOWN to every cancellation retry at once', async () => {
    const { first } = await unknownReversal('UR1');
    expect(first.status).toBe(500);
    expectPppContract(CANCEL, 'post', 500, first.json);
    expect(first.json).toMatchObject({ paymentId: 'UR1', cancellationId: null, code: 'PPP_OUTCOME_UNKNOWN' });
    expect(await t.server.store.getPayment('UR1')).toMatchObject({ status: 'reversal_unknown', endReason: 'cancelled' });
    await expectApprovalKept('UR1');
    expect(t.lines.filter((l) => l['msg'] === UNKNOWN_ALERT && l['paymentId'] === 'UR1')).toEqual([
      expect.objectContaining({ level: 50, status: 'reversal_unknown', serialNumber: 'SN1' }),
    ]);
    expect(await metricsText()).toContain('posbridge_payments_unknown 1');
    const began = Date.now();
    const retry = await call('POST', '/payments/UR1/cancellations', cancelBody('UR1', 'C-UR1'));
    expect(Date.now() - began).toBeLessThan(1500);
    expect(retry).toMatchObject({ status: 500, json: { code: 'PPP_OUTCOME_UNKNOWN' } });
    // Never reported cancelled/denied on its own: VTEX only ever had the approval.
    expect((await poll('UR1'))['status']).toBe('undefined');
    expect(callbacksOf('UR1').map((c) => (JSON.parse(c.body) as { status: string }).status)).toEqual(['approved']);
  });

  it('operator resolves denied (the void went through): cancelled, approval kept, audited; the retry is answered 200', async () => {
    await unknownReversal('UR2');
    clock += 60_000;
    const p = await t.server.service.resolveUnknown('UR2', { outcome: 'denied', reason: 'void 0042 on the terminal journal', operator: 'dora' });
    expect(p.status).toBe('cancelled');
    await expectApprovalKept('UR2');
    expect((await t.server.store.listPaymentEvents('UR2')).at(-1)).toMatchObject({
      type: 'operator.resolved', fromStatus: 'reversal_unknown', toStatus: 'cancelled', at: clock,
      data: { outcome: 'denied', operator: 'dora', reason: 'void 0042 on the terminal journal' },
    });
    expect(await metricsText()).toContain('posbridge_payments_unknown 0');
    const retry = await call('POST', '/payments/UR2/cancellations', cancelBody('UR2', 'C-UR2'));
    expect(retry.status).toBe(200);
    expectPppContract(CANCEL, 'post', 200, retry.json);
    expect(retry.json['message']).toBe('cancelled; the approval was reversed on the terminal');
    expect(callbacksOf('UR2')).toHaveLength(1);
  });

  it('operator resolves approved (still charged): approved, approval kept; the retry is cancel-manually and voids nothing again', async () => {
    const { voidOp } = await unknownReversal('UR3');
    const refused = await t.server.service.resolveUnknown('UR3', { outcome: 'approved', reason: 'x', operator: 'dora', authorizationId: 'OTHER' }).then(
      () => 'resolved',
      (err: unknown) => (isCodedError(err) ? err.code : String(err)),
    );
    expect(refused).toBe('ADMIN_RESOLVE_REFUSED');
    const p = await t.server.service.resolveUnknown('UR3', { outcome: 'approved', reason: 'no void on the journal; sale 0041 stands', operator: 'dora' });
    expect(p.status).toBe('approved');
    await expectApprovalKept('UR3');
    expect(await metricsText()).toContain('posbridge_payments_unknown 0');
    const retry = await call('POST', '/payments/UR3/cancellations', cancelBody('UR3', 'C-UR3'));
    expect(retry.status).toBe(501);
    expectPppContract(CANCEL, 'post', 501, retry.json);
    expect(retry.json['code']).toBe('cancel-manually');
    await barrier('UR3-AFTER');
    expect(agent.messages.filter((m) => isOp(m) && m.paymentId === 'UR3').map((m) => (m as OpStart).id)).toEqual([voidOp.id]);
    expect((await t.server.store.getPayment('UR3'))?.status).toBe('approved');
  });

  it('a late answer of the terminal resolves it (PBL/1 STATUS after all)', async () => {
    const { voidOp } = await unknownReversal('UR4');
    agent.send({
      v: PROTOCOL_VERSION, id: nextId(), type: 'operation.result', operationId: voidOp.operationId, paymentId: 'UR4',
      kind: 'void', outcome: 'approved', amount: voidOp.amount, terminalRef: 'void-UR4',
    });
    await waitFor(async () => (await t.server.store.getPayment('UR4'))?.status === 'cancelled', { timeoutMs: 5000, message: 'cancelled' });
    await expectApprovalKept('UR4');
    expect((await call('POST', '/payments/UR4/cancellations', cancelBody('UR4', 'C-UR4'))).status).toBe(200);

    const second = await unknownReversal('UR5');
    agent.send({
      v: PROTOCOL_VERSION, id: nextId(), type: 'operation.result', operationId: second.voidOp.operationId, paymentId: 'UR5',
      kind: 'void', outcome: 'denied', amount: second.voidOp.amount, terminalRef: 'void-UR5', message: 'too late to void',
    });
    await waitFor(async () => (await t.server.store.getPayment('UR5'))?.status === 'approved', { timeoutMs: 5000, message: 'approved' });
    expect((await call('POST', '/payments/UR5/cancellations', cancelBody('UR5', 'C-UR5'))).json['code']).toBe('cancel-manually');
    expect(await metricsText()).toContain('posbridge_payments_unknown 0');
  });
});

describe('unknown refunds', () => {
  const REFUND_ALERT = 'refund outcome unknown; resolve it with posbridge-server operation resolve';
  const REFUND = '/payments/{paymentId}/refunds';
  const refundBody = (paymentId: string, requestId: string) => ({ paymentId, requestId, value: 31.9, settleId: 'se', tid: 'pb', transactionId: 'TX1' });

  /** Approved, settled, then a refund the agent answers `unknown`; returns the first answer and the operationId. */
  async function unknownRefund(paymentId: string) {
    await started(paymentId);
    sendResult(paymentId, 'approved');
    await waitFor(async () => (await t.server.store.getPayment(paymentId))?.status === 'approved', { timeoutMs: 5000, message: 'approved' });
    expect((await call('POST', `/payments/${paymentId}/settlements`, { paymentId, requestId: 'S1', value: 31.9, authorizationId: 'AUTH1', transactionId: 'TX1' })).status).toBe(200);
    const pending = call('POST', `/payments/${paymentId}/refunds`, refundBody(paymentId, 'R1'));
    const op = await agent.waitForMessage((m): m is OpStart => isOp(m) && m.paymentId === paymentId && m.kind === 'refund');
    agent.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: op.id });
    agent.send({
      v: PROTOCOL_VERSION, id: nextId(), type: 'operation.result', operationId: op.operationId, paymentId,
      kind: 'refund', outcome: 'unknown', amount: op.amount, terminalRef: `rf-${paymentId}`, message: 'no answer from the terminal',
    });
    return { first: await pending, operationId: op.operationId };
  }

  it('are flagged: an error log with a stable message, the posbridge_operations_unknown gauge, PPP_OUTCOME_UNKNOWN to every retry at once', async () => {
    expect(await metricsText()).toContain('posbridge_operations_unknown 0');
    const { first, operationId } = await unknownRefund('RU1');
    expect(first.status).toBe(500);
    expectPppContract(REFUND, 'post', 500, first.json);
    expect(first.json).toMatchObject({ paymentId: 'RU1', refundId: null, value: 0, code: 'PPP_OUTCOME_UNKNOWN' });
    expect(String(first.json['message'])).toContain('posbridge-server operation resolve');
    expect(t.lines.filter((l) => l['msg'] === REFUND_ALERT)).toEqual([
      expect.objectContaining({ level: 50, paymentId: 'RU1', operationId, serialNumber: 'SN1', terminalRef: 'rf-RU1' }),
    ]);
    expect(await metricsText()).toContain('posbridge_operations_unknown 1');
    const began = Date.now();
    expect((await call('POST', '/payments/RU1/refunds', refundBody('RU1', 'R1'))).json['code']).toBe('PPP_OUTCOME_UNKNOWN');
    expect(Date.now() - began).toBeLessThan(1500);
  });

  it('an operator resolves them, audited in the payment events; the retry gets the decided answer (approved → 200, denied → refund-manually)', async () => {
    const a = await unknownRefund('RU2');
    clock += 30_000;
    const op = await t.server.service.resolveUnknownOperation(a.operationId, { outcome: 'approved', reason: 'refund 0077 on the journal', operator: 'erin' });
    expect(op).toMatchObject({ operationId: a.operationId, status: 'approved' });
    expect((await t.server.store.listPaymentEvents('RU2')).at(-1)).toMatchObject({
      type: 'operation.resolved', fromStatus: 'approved', toStatus: 'approved', at: clock,
      data: { operationId: a.operationId, kind: 'refund', outcome: 'approved', operator: 'erin', reason: 'refund 0077 on the journal' },
    });
    expect(await metricsText()).toContain('posbridge_operations_unknown 0');
    const ok = await call('POST', '/payments/RU2/refunds', refundBody('RU2', 'R1'));
    expect(ok.status).toBe(200);
    expectPppContract(REFUND, 'post', 200, ok.json);
    expect(ok.json).toMatchObject({ refundId: a.operationId, value: 31.9 });

    const b = await unknownRefund('RU3');
    await t.server.service.resolveUnknownOperation(b.operationId, { outcome: 'denied', reason: 'no refund on the journal', operator: 'erin' });
    const manual = await call('POST', '/payments/RU3/refunds', refundBody('RU3', 'R1'));
    expect(manual.status).toBe(501);
    expectPppContract(REFUND, 'post', 501, manual.json);
    expect(manual.json['code']).toBe('refund-manually');
    // Resolved once: a second decision is refused.
    const again = await t.server.service.resolveUnknownOperation(b.operationId, { outcome: 'approved', reason: 'x', operator: 'erin' }).then(
      () => 'resolved',
      (err: unknown) => (isCodedError(err) ? err.code : String(err)),
    );
    expect(again).toBe('ADMIN_RESOLVE_REFUSED');
    expect(t.lines.some((l) => l['msg'] === 'unknown operation resolved by an operator' && l['operationId'] === b.operationId)).toBe(true);

    // The terminal contradicting the operator later is not applied, but alerted: it needs a person.
    agent.send({
      v: PROTOCOL_VERSION, id: nextId(), type: 'operation.result', operationId: b.operationId, paymentId: 'RU3',
      kind: 'refund', outcome: 'approved', amount: { amountMinor: 3190, currency: 'BRL' }, terminalRef: 'rf-late',
    });
    const contradiction = await waitFor(() => t.lines.find((l) => l['msg'] === 'terminal refund result contradicts the recorded outcome'), { timeoutMs: 5000, message: 'alert' });
    expect(contradiction).toMatchObject({ level: 50, operationId: b.operationId, recorded: 'denied', reported: 'approved' });
    expect((await t.server.store.getOperation(b.operationId))?.status).toBe('denied');
  });

  it('the terminal answering later resolves them too', async () => {
    const { operationId } = await unknownRefund('RU4');
    agent.send({
      v: PROTOCOL_VERSION, id: nextId(), type: 'operation.result', operationId, paymentId: 'RU4',
      kind: 'refund', outcome: 'approved', amount: { amountMinor: 3190, currency: 'BRL' }, terminalRef: 'rf-RU4',
    });
    await waitFor(async () => (await t.server.store.getOperation(operationId))?.status === 'approved', { timeoutMs: 5000, message: 'refunded' });
    expect((await call('POST', '/payments/RU4/refunds', refundBody('RU4', 'R1'))).status).toBe(200);
  });
});
