/**
 * The PPP connector against the real server (HTTP on port 0, SQLite on disk) and a fake agent
 * over a real WebSocket: contract (every response validated against the OpenAPI with Ajv),
 * idempotency by requestId (repeats and concurrent duplicates), each cancel case, settlements
 * and refunds with their amount rules, deadlines with an injected clock, late-approval
 * reversal, merchant isolation, the Payment App routes, health and metrics.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import { PosStatusSchema, PosTerminalsSchema, SubmitAnswerSchema } from '@posbridge/protocol/pos';
import { PROTOCOL_VERSION, type ServerMessage } from '@posbridge/protocol/ws';
import { hashAppToken } from './auth.ts';
import {
  AUTH_HEADERS,
  connectAgent,
  createPaymentBody,
  nextId,
  startCallbackReceiver,
  startTestServer,
  type TestAgent,
  type TestServer,
  isServerMessage,
} from '../testing/helpers.ts';
import { expectPppContract as expectContract } from '../testing/ppp-contract.ts';

// ── fixtures ────────────────────────────────────────────────────────────────────────────────
type Start = Extract<ServerMessage, { type: 'payment.start' }>;
type Abort = Extract<ServerMessage, { type: 'payment.abort' }>;
type OpStart = Extract<ServerMessage, { type: 'operation.start' }>;
const isStart = isServerMessage('payment.start');
const isAbort = isServerMessage('payment.abort');
const isOp = isServerMessage('operation.start');

let clock: number;
let t: TestServer;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
let agent: TestAgent;
let agentToken: string;
const extraAgents: TestAgent[] = [];

beforeEach(async () => {
  clock = Date.UTC(2026, 0, 1, 12);
  t = await startTestServer({}, undefined, { now: () => clock, manualDeadlines: true });
  receiver = await startCallbackReceiver();
  agentToken = (await t.server.issueAgentToken('front-desk')).token;
  agent = await connectAgent(t.server.url, agentToken);
  await agent.hello(['SN1']);
});
afterEach(async () => {
  await Promise.all([agent, ...extraAgents.splice(0)].map((a) => a.close()));
  await t.close();
  await receiver.close();
});

async function call(method: string, path: string, body?: unknown, headers: Record<string, string> = AUTH_HEADERS) {
  const res = await fetch(`${t.server.url}${path}`, {
    method,
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...headers },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: (text ? JSON.parse(text) : null) as Record<string, unknown> };
}

async function create(paymentId: string, overrides: Record<string, unknown> = {}) {
  const res = await t.createPayment(
    createPaymentBody({ paymentId, callbackUrl: `${receiver.url}/cb/${paymentId}?X-VTEX-signature=abc`, ...overrides }),
  );
  expect(res.status).toBe(200);
  expectContract('/payments', 'post', 200, res.json);
  return { res, urls: JSON.parse((res.json['paymentAppData'] as { payload: string }).payload) as Record<string, string> };
}

async function submit(url: string, serialNumber: string) {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify({ serialNumber }), headers: { 'Content-Type': 'application/json' } });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** Creates a payment, binds SN1, acks the start; returns the start. */
async function started(paymentId: string): Promise<Start> {
  const { urls } = await create(paymentId);
  expect((await submit(urls['submitUrl']!, 'SN1')).status).toBe(200);
  const start = await agent.waitForMessage((m): m is Start => isStart(m) && m.paymentId === paymentId);
  agent.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: start.id });
  await waitFor(async () => (await t.server.store.getPayment(paymentId))?.status === 'accepted', { timeoutMs: 5000, message: 'accepted' });
  return start;
}

function sendResult(paymentId: string, outcome: 'approved' | 'denied' | 'unknown', amountMinor = 3190): void {
  agent.send({
    v: PROTOCOL_VERSION,
    id: nextId(),
    type: 'payment.result',
    paymentId,
    outcome,
    amount: { amountMinor, currency: 'BRL' },
    terminalRef: `ref-${paymentId}`,
    ...(outcome === 'approved'
      ? { authorizationId: 'AUTH1', nsu: '42', responseCode: '00', card: { brand: 'Visa', firstDigits: '411111', lastDigits: '1111' } }
      : {}),
  });
}

async function approved(paymentId: string): Promise<void> {
  await started(paymentId);
  sendResult(paymentId, 'approved');
  await waitFor(async () => (await t.server.store.getPayment(paymentId))?.status === 'approved', { timeoutMs: 5000, message: 'approved' });
}

function sendOpResult(op: OpStart, outcome: 'approved' | 'denied' | 'unknown', message?: string): void {
  agent.send({
    v: PROTOCOL_VERSION,
    id: nextId(),
    type: 'operation.result',
    operationId: op.operationId,
    paymentId: op.paymentId,
    kind: op.kind,
    outcome,
    amount: op.amount,
    terminalRef: `op-${op.operationId.slice(0, 20)}`,
    ...(message === undefined ? {} : { message }),
  });
}

const cancelBody = (paymentId: string, requestId: string) => ({ paymentId, requestId, authorizationId: 'AUTH1', transactionId: 'TX1' });
const settleBody = (paymentId: string, requestId: string, value: number) => ({
  paymentId,
  requestId,
  value,
  authorizationId: 'AUTH1',
  transactionId: 'TX1',
});
const refundBody = (paymentId: string, requestId: string, value: number) => ({
  paymentId,
  requestId,
  value,
  settleId: 'se',
  tid: 'pb',
  transactionId: 'TX1',
});

// ── tests ───────────────────────────────────────────────────────────────────────────────────
describe('contract and validation', () => {
  it('manifest, create, inbound and the configuration flow match the OpenAPI', async () => {
    const manifest = await call('GET', '/manifest');
    expectContract('/manifest', 'get', 200, manifest.json);

    const { res, urls } = await create('CT1');
    expect(Object.keys(urls).sort()).toEqual(['cancelUrl', 'statusUrl', 'submitUrl', 'terminalsUrl']);
    const denied = await t.createPayment(createPaymentBody({ paymentId: 'CT2', paymentMethod: 'Visa' }));
    expectContract('/payments', 'post', 200, denied.json);
    expect(denied.json).toMatchObject({ status: 'denied', message: expect.stringContaining('Visa') });

    const inbound = await call('POST', '/payments/CT1/inbound/status', {
      requestId: 'IR1', transactionId: 'TX1', paymentId: 'CT1', authorizationId: null, tid: res.json['tid'], nsu: null, requestData: { body: '' },
    });
    expect(inbound.status).toBe(200);
    expectContract('/payments/{paymentId}/inbound/{action}', 'post', 200, inbound.json);
    const content = JSON.parse((inbound.json['responseData'] as { content: string }).content) as Record<string, unknown>;
    expect(content).toMatchObject({ paymentId: 'CT1', status: 'undefined', posState: 'awaiting_terminal' });

    const token = await call('POST', '/authorization/token', { applicationId: 'vtex', returnUrl: 'https://admin.example/return?authorizationCode=' }, {});
    expectContract('/authorization/token', 'post', 200, token.json);
    const redirectUrl = `${t.server.url}/authorization/redirect?applicationId=vtex&token=${String(token.json['token'])}`;
    // The sign-up page: the merchant confirms its VTEX account name (the merchantName of its payments).
    const page = await fetch(redirectUrl, { redirect: 'manual' });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(await page.text()).toMatch(/<input name="merchantName"[^>]* value="">/);
    const redirect = await fetch(`${redirectUrl}&merchantName=onboarded-store`, { redirect: 'manual' });
    expect(redirect.status).toBe(302);
    const code = new URL(redirect.headers.get('location')!).searchParams.get('authorizationCode');
    const creds = await call('GET', `/authorization/credentials?applicationId=vtex&authorizationCode=${code}`, undefined, {});
    expectContract('/authorization/credentials', 'get', 200, creds.json);
    // The code is single-use, and the issued credentials authenticate PPP calls.
    expect((await call('GET', `/authorization/credentials?applicationId=vtex&authorizationCode=${code}`, undefined, {})).json).toMatchObject({
      code: 'PPP_ONBOARDING_INVALID',
    });
    const issued = { 'X-VTEX-API-AppKey': String(creds.json['appKey']), 'X-VTEX-API-AppToken': String(creds.json['appToken']) };
    // The onboarded merchant has its name: other merchantNames are refused, its own accepted.
    expect((await call('POST', '/payments', createPaymentBody({ paymentId: 'ONB0', merchantName: 'store' }), issued)).json).toMatchObject({
      code: 'PPP_MERCHANT_MISMATCH',
    });
    expect((await call('POST', '/payments', createPaymentBody({ paymentId: 'ONB1', merchantName: 'onboarded-store' }), issued)).status).toBe(200);
  });

  it('onboarding yields a usable merchant: its name, a default store for its agents; names are checked and unique', async () => {
    const start = async (returnUrl: string) => {
      const token = await call('POST', '/authorization/token', { applicationId: 'vtex', returnUrl }, {});
      return `${t.server.url}/authorization/redirect?applicationId=vtex&token=${String(token.json['token'])}`;
    };
    // A VTEX Admin returnUrl pre-fills the account name.
    const vtexUrl = await start('https://mystore.myvtex.com/admin/pci-gateway/#/affiliations/x/?authorizationCode=');
    expect(await (await fetch(vtexUrl)).text()).toMatch(/<input name="merchantName"[^>]* value="mystore">/);
    const bad = await fetch(`${vtexUrl}&merchantName=${encodeURIComponent('<script>')}`, { redirect: 'manual' });
    expect(bad.status).toBe(400);
    expect(await bad.text()).not.toContain('<script>');
    const ok = await fetch(`${vtexUrl}&merchantName=mystore`, { redirect: 'manual' });
    expect(ok.status).toBe(302);
    const location = ok.headers.get('location')!;
    expect(location.startsWith('https://mystore.myvtex.com/admin/pci-gateway/#/affiliations/x/?authorizationCode=')).toBe(true);
    const code = location.slice(location.indexOf('authorizationCode=') + 'authorizationCode='.length);
    expect((await call('GET', `/authorization/credentials?applicationId=vtex&authorizationCode=${code}`, undefined, {})).status).toBe(200);

    const merchant = (await t.server.store.findMerchantByName('mystore'))!;
    expect(merchant).toMatchObject({ name: 'mystore', callbackMode: 'notification' });
    const store = (await t.server.store.findStore(merchant.merchantId, 'default'))!;
    expect(store).toMatchObject({ merchantId: merchant.merchantId, name: 'default' });
    // `agent add --merchant mystore` resolves to this store; its terminals belong to the merchant.
    const { token } = await t.server.issueAgentToken('mystore-front', store.storeId);
    const own = await connectAgent(t.server.url, token);
    extraAgents.push(own);
    await own.hello(['MY-1']);
    expect((await t.server.store.listTerminals(merchant.merchantId)).map((x) => x.serialNumber)).toEqual(['MY-1']);

    // The name is taken now: a second flow is told so (409), and no code is issued.
    const again = await start('https://mystore.myvtex.com/admin/?authorizationCode=');
    const taken = await fetch(`${again}&merchantName=mystore`, { redirect: 'manual' });
    expect(taken.status).toBe(409);
    expect(await taken.text()).toContain('already connected');
  });

  it('names every offending field of each follow-up body; 404 JSON for unknown methods/routes; no stack', async () => {
    const bad = await call('POST', '/payments/X/settlements', { paymentId: 'X', value: 'ten' });
    expect(bad.status).toBe(400);
    for (const field of ['requestId', 'value', 'authorizationId', 'transactionId']) expect(String(bad.json['message'])).toContain(field);
    const refund = await call('POST', '/payments/X/refunds', {});
    for (const field of ['requestId', 'settleId', 'tid', 'value']) expect(String(refund.json['message'])).toContain(field);
    const mismatch = await call('POST', '/payments/X/cancellations', cancelBody('Y', 'R'));
    expect(mismatch.json).toMatchObject({ status: 'error', code: 'PPP_INVALID_REQUEST' });
    const get = await call('GET', '/payments');
    expect(get.status).toBe(404);
    expect(get.json).toMatchObject({ status: 'error', code: 'PPP_NOT_FOUND' });
    const big = await call('POST', '/payments', { pad: 'x'.repeat(300_000) });
    expect(big.status).toBe(413);
    expect(big.json).toEqual({ status: 'error', code: 'PPP_BODY_TOO_LARGE', message: expect.any(String) });
  });

  it('sets security headers and recognises the Test Suite header', async () => {
    const res = await call('POST', '/payments', createPaymentBody({ paymentId: 'TS1' }), { ...AUTH_HEADERS, 'X-VTEX-API-Is-TestSuite': 'true' });
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('strict-transport-security')).toContain('max-age');
    expect(res.headers.get('x-powered-by')).toBeNull();
    expect((await t.server.store.getPayment('TS1'))?.testSuite).toBe(true);
  });
});

describe('cancellations', () => {
  it('before a terminal was chosen: immediate, idempotent, and the submitUrl stops working', async () => {
    const { urls } = await create('CX1');
    const first = await call('POST', '/payments/CX1/cancellations', cancelBody('CX1', 'R1'));
    expect(first.status).toBe(200);
    expectContract('/payments/{paymentId}/cancellations', 'post', 200, first.json);
    expect(first.json).toMatchObject({ paymentId: 'CX1', requestId: 'R1', code: null, cancellationId: expect.stringMatching(/^cn_/) });
    const [again, concurrent] = await Promise.all([
      call('POST', '/payments/CX1/cancellations', cancelBody('CX1', 'R1')),
      call('POST', '/payments/CX1/cancellations', cancelBody('CX1', 'R1')),
    ]);
    expect(again.json).toEqual(first.json);
    expect(concurrent.json).toEqual(first.json);
    const bound = await submit(urls['submitUrl']!, 'SN1');
    expect(bound).toMatchObject({ status: 410, json: { code: 'POS_PAYMENT_FINAL' } });
    const poll = await t.createPayment(createPaymentBody({ paymentId: 'CX1' }));
    expect(poll.json).toMatchObject({ status: 'denied', code: 'cancelled' });
    expect(agent.messages.some(isStart)).toBe(false);
  });

  it('while the terminal works: abort through the agent, answered when the terminal stops', async () => {
    await started('CX2');
    const pending = call('POST', '/payments/CX2/cancellations', cancelBody('CX2', 'R2'));
    const abort = await agent.waitForMessage((m): m is Abort => isAbort(m) && m.paymentId === 'CX2');
    expect(abort.reason).toBe('cancelled');
    agent.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: abort.id });
    sendResult('CX2', 'denied');
    const res = await pending;
    expect(res.status).toBe(200);
    expectContract('/payments/{paymentId}/cancellations', 'post', 200, res.json);
    expect((await t.server.store.getPayment('CX2'))?.status).toBe('cancelled');
    expect(receiver.received).toHaveLength(0);
  });

  it('cancelled while the agent is offline: the abort is re-sent from the store on reconnect; "never started" ends it cancelled', async () => {
    await started('CX2B');
    await agent.close();
    await waitFor(() => t.server.hub.sessionCount === 0, { timeoutMs: 5000, message: 'agent gone' });
    const pending = call('POST', '/payments/CX2B/cancellations', cancelBody('CX2B', 'R2B'));
    await waitFor(async () => (await t.server.store.getPayment('CX2B'))?.status === 'aborting', { timeoutMs: 5000, message: 'aborting' });

    const back = await connectAgent(t.server.url, agentToken);
    extraAgents.push(back);
    await back.hello(['SN1']);
    const abort = await back.waitForMessage((m): m is Abort => isAbort(m) && m.paymentId === 'CX2B');
    back.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: abort.id });
    // The agent died before journaling the start: nothing reached the terminal.
    back.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'payment.rejected', paymentId: 'CX2B', code: 'TERM_UNKNOWN', message: 'never started' });
    const res = await pending;
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ code: null, message: 'cancelled; nothing was charged' });
    expect((await t.server.store.getPayment('CX2B'))?.status).toBe('cancelled');
    expect(receiver.received).toHaveLength(0);
  });

  it('the agent does not answer within the budget: 500 pending (under 5 s), the repeat gets the outcome', async () => {
    await started('CX3');
    const began = Date.now();
    const first = await call('POST', '/payments/CX3/cancellations', cancelBody('CX3', 'R3'));
    expect(Date.now() - began).toBeLessThan(5000);
    expect(first.status).toBe(500);
    expectContract('/payments/{paymentId}/cancellations', 'post', 500, first.json);
    expect(first.json).toMatchObject({ cancellationId: null, code: 'PPP_OPERATION_PENDING' });
    // The terminal approved anyway: the server voids it, then the repeat answers 200.
    sendResult('CX3', 'approved');
    const op = await agent.waitForMessage((m): m is OpStart => isOp(m) && m.paymentId === 'CX3');
    expect(op).toMatchObject({ kind: 'void', serialNumber: 'SN1', amount: { amountMinor: 3190, currency: 'BRL' }, originalTerminalRef: 'ref-CX3' });
    expect(t.lines.some((l) => l['msg'] === 'late approval after cancellation or expiry; reversing it on the terminal' && l['paymentId'] === 'CX3')).toBe(true);
    sendOpResult(op, 'approved');
    await waitFor(async () => (await t.server.store.getPayment('CX3'))?.status === 'cancelled', { timeoutMs: 5000, message: 'cancelled' });
    const repeat = await call('POST', '/payments/CX3/cancellations', cancelBody('CX3', 'R3'));
    expect(repeat.status).toBe(200);
    expect(repeat.json['message']).toContain('reversed');
  });

  it('after approval: voided on the terminal; 501 cancel-manually when the agent is offline or the void fails', async () => {
    await approved('CX4');
    const pending = call('POST', '/payments/CX4/cancellations', cancelBody('CX4', 'R4'));
    const op = await agent.waitForMessage((m): m is OpStart => isOp(m) && m.paymentId === 'CX4');
    sendOpResult(op, 'approved');
    expect((await pending).status).toBe(200);

    await approved('CX5');
    const failing = call('POST', '/payments/CX5/cancellations', cancelBody('CX5', 'R5'));
    const op5 = await agent.waitForMessage((m): m is OpStart => isOp(m) && m.paymentId === 'CX5');
    sendOpResult(op5, 'denied', 'batch closed');
    const manual = await failing;
    expect(manual.status).toBe(501);
    expectContract('/payments/{paymentId}/cancellations', 'post', 501, manual.json);
    expect(manual.json).toMatchObject({ code: 'cancel-manually', cancellationId: null });

    await approved('CX6');
    await agent.close();
    await waitFor(() => !t.server.hub.onlineSerials().has('SN1'), { timeoutMs: 5000, message: 'agent gone' });
    const offline = await call('POST', '/payments/CX6/cancellations', cancelBody('CX6', 'R6'));
    expect(offline.status).toBe(501);
    expect(offline.json).toMatchObject({ code: 'cancel-manually', message: expect.stringContaining('offline') });
    expect((await call('POST', '/payments/CX6/cancellations', cancelBody('CX6', 'R6'))).json).toEqual(offline.json);
  });
});

describe('settlements and refunds', () => {
  it('settles partially up to the authorized amount, idempotent by requestId (concurrent duplicates too)', async () => {
    await approved('ST1');
    const duplicates = await Promise.all(Array.from({ length: 5 }, () => call('POST', '/payments/ST1/settlements', settleBody('ST1', 'S1', 10))));
    expect(new Set(duplicates.map((d) => JSON.stringify(d.json))).size).toBe(1);
    expect(duplicates[0]!.status).toBe(200);
    expectContract('/payments/{paymentId}/settlements', 'post', 200, duplicates[0]!.json);
    expect(duplicates[0]!.json).toMatchObject({ value: 10, settleId: expect.stringMatching(/^se_/) });
    const over = await call('POST', '/payments/ST1/settlements', settleBody('ST1', 'S2', 21.91));
    expect(over.status).toBe(500);
    expectContract('/payments/{paymentId}/settlements', 'post', 500, over.json);
    expect(over.json).toMatchObject({ settleId: null, value: 0, code: 'PPP_AMOUNT_EXCEEDED' });
    expect((await call('POST', '/payments/ST1/settlements', settleBody('ST1', 'S3', 21.9))).status).toBe(200);
    expect(await t.server.store.operationTotals('ST1')).toMatchObject({ settledMinor: 3190 });
    await started('ST2');
    expect((await call('POST', '/payments/ST2/settlements', settleBody('ST2', 'S4', 1))).json).toMatchObject({ code: 'PPP_NOT_APPROVED' });
  });

  it('refunds through the terminal, partially, never more than settled; 501 refund-manually offline', async () => {
    await approved('RF1');
    await call('POST', '/payments/RF1/settlements', settleBody('RF1', 'S1', 20));
    const pending = call('POST', '/payments/RF1/refunds', refundBody('RF1', 'F1', 5.5));
    const op = await agent.waitForMessage((m): m is OpStart => isOp(m) && m.kind === 'refund');
    expect(op.amount).toEqual({ amountMinor: 550, currency: 'BRL' });
    sendOpResult(op, 'approved');
    const first = await pending;
    expect(first.status).toBe(200);
    expectContract('/payments/{paymentId}/refunds', 'post', 200, first.json);
    expect(first.json).toMatchObject({ value: 5.5, refundId: op.operationId });
    expect((await call('POST', '/payments/RF1/refunds', refundBody('RF1', 'F1', 5.5))).json).toEqual(first.json);
    const over = await call('POST', '/payments/RF1/refunds', refundBody('RF1', 'F2', 14.51));
    expect(over.json).toMatchObject({ code: 'PPP_AMOUNT_EXCEEDED', refundId: null, value: 0 });
    expectContract('/payments/{paymentId}/refunds', 'post', 500, over.json);
    expect(agent.messages.filter(isOp).filter((m) => m.kind === 'refund')).toHaveLength(1);

    await agent.close();
    await waitFor(() => !t.server.hub.onlineSerials().has('SN1'), { timeoutMs: 5000, message: 'agent gone' });
    const offline = await call('POST', '/payments/RF1/refunds', refundBody('RF1', 'F3', 1));
    expect(offline.status).toBe(501);
    expectContract('/payments/{paymentId}/refunds', 'post', 501, offline.json);
    expect(offline.json).toMatchObject({ code: 'refund-manually', refundId: null, value: 0 });
    expect((await call('POST', '/payments/RF1/refunds', refundBody('RF1', 'F3', 1))).json).toEqual(offline.json);
  });
});

describe('deadlines (injected clock)', () => {
  it('a payment with no terminal expires at its deadline and VTEX is told denied', async () => {
    const { urls } = await create('DL1');
    expect(await t.server.service.expireDue()).toBe(0);
    clock += (300 + 30) * 1000;
    expect(await t.server.service.expireDue()).toBe(1);
    expect((await t.server.store.getPayment('DL1'))?.status).toBe('expired');
    const cb = await waitFor(() => receiver.received.find((r) => r.url.startsWith('/cb/DL1')), { timeoutMs: 3000, message: 'callback' });
    expect(JSON.parse(cb.body)).toMatchObject({ status: 'denied', code: 'expired' });
    const status = await fetch(urls['statusUrl']!);
    expect(await status.json()).toMatchObject({ state: 'expired', secondsRemaining: null });
    expect((await t.createPayment(createPaymentBody({ paymentId: 'DL1' }))).json).toMatchObject({ status: 'denied', code: 'expired' });
  });

  it('expiry while the terminal works aborts it; a late approval is reversed and reported denied', async () => {
    await started('DL2');
    clock += 331 * 1000;
    await t.server.service.expireDue();
    const abort = await agent.waitForMessage((m): m is Abort => isAbort(m) && m.paymentId === 'DL2');
    expect(abort.reason).toBe('expired');
    sendResult('DL2', 'approved');
    const op = await agent.waitForMessage((m): m is OpStart => isOp(m) && m.paymentId === 'DL2');
    expect(op.kind).toBe('void');
    sendOpResult(op, 'approved');
    const cb = await waitFor(() => receiver.received.find((r) => r.url.startsWith('/cb/DL2')), { timeoutMs: 3000, message: 'callback' });
    expect(JSON.parse(cb.body)).toMatchObject({ status: 'denied', code: 'expired', authorizationId: null });
    expect((await t.server.store.getPayment('DL2'))?.status).toBe('expired');
    expect(t.lines.filter((l) => l['paymentId'] === 'DL2' && l['msg'] === 'late approval after cancellation or expiry; reversing it on the terminal')).toHaveLength(1);
  });
});

describe('merchants', () => {
  it('a terminal of one merchant is never bound to another merchant’s payment; payments stay private', async () => {
    await t.server.store.createMerchant({
      merchantId: 'mch_other', name: 'other', appKey: 'other-key', appTokenSha256: hashAppToken('other-token'), callbackMode: 'notification', createdAt: 1,
    });
    await t.server.store.createStore({ storeId: 'sto_other', merchantId: 'mch_other', name: 'default', createdAt: 1 });
    const other = await connectAgent(t.server.url, (await t.server.issueAgentToken('other-desk', 'sto_other')).token);
    extraAgents.push(other);
    await other.hello(['OTHER1']);
    const { urls } = await create('MM1');
    expect(await submit(urls['submitUrl']!, 'OTHER1')).toMatchObject({ status: 404, json: { code: 'POS_TERMINAL_UNKNOWN' } });
    const terminals = PosTerminalsSchema.parse(await (await fetch(urls['terminalsUrl']!)).json());
    expect(terminals.terminals.map((x) => x.serialNumber)).toEqual(['SN1']);

    const otherHeaders = { 'X-VTEX-API-AppKey': 'other-key', 'X-VTEX-API-AppToken': 'other-token' };
    expect((await call('POST', '/payments/MM1/cancellations', cancelBody('MM1', 'R'), otherHeaders)).json).toMatchObject({ code: 'PPP_PAYMENT_NOT_FOUND' });
    expect((await t.server.store.getPayment('MM1'))?.status).toBe('awaiting_terminal');
    expect((await call('POST', '/payments', createPaymentBody({ paymentId: 'MM1', merchantName: 'other' }), otherHeaders)).json).toMatchObject({ code: 'PPP_PAYMENT_MISMATCH' });
    expect((await call('POST', '/payments', createPaymentBody({ paymentId: 'MM2', merchantName: 'store' }), otherHeaders)).status).toBe(403);
    expect((await call('POST', '/payments', createPaymentBody({ paymentId: 'MM3', merchantName: 'other' }), otherHeaders)).status).toBe(200);
  });
});

describe('Payment App routes, health and metrics', () => {
  it('status and terminals follow the payment, authenticated by its token', async () => {
    const { urls } = await create('PA1');
    const submitted = await submit(urls['submitUrl']!, 'SN1');
    SubmitAnswerSchema.parse(submitted.json);
    const status = await fetch(urls['statusUrl']!);
    expect(status.headers.get('access-control-allow-origin')).toBe('*');
    expect(PosStatusSchema.parse(await status.json())).toMatchObject({ state: 'dispatched', serialNumber: 'SN1', secondsRemaining: 330 });
    const terminals = PosTerminalsSchema.parse(await (await fetch(urls['terminalsUrl']!)).json());
    expect(terminals.terminals).toEqual([{ serialNumber: 'SN1', online: true, busy: true, store: { storeId: 'sto_bootstrap', name: 'default' } }]);
    const forged = await fetch(urls['statusUrl']!.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')));
    expect(forged.status).toBe(404);
  });

  it('healthz, readyz and Prometheus metrics', async () => {
    await approved('MX1');
    expect((await call('GET', '/healthz', undefined, {})).json).toEqual({ status: 'ok', instanceId: expect.any(String), agentsConnected: 1 });
    expect((await call('GET', '/readyz', undefined, {})).json).toMatchObject({ status: 'ready', agentsConnected: 1 });
    const text = await (await fetch(`${t.server.url}/metrics`)).text();
    expect(text).toContain('posbridge_payments{status="approved"} 1');
    expect(text).toContain('posbridge_agents_connected 1');
    expect(text).toMatch(/posbridge_http_request_duration_seconds_bucket\{.*route="\/payments"/);
    expect(text).toContain('posbridge_payment_transitions_total{from="accepted",to="approved"} 1');
    await waitFor(() => receiver.received.length > 0, { timeoutMs: 3000, message: 'callback' });
    await waitFor(async () => (await (await fetch(`${t.server.url}/metrics`)).text()).includes('posbridge_callback_attempts_total{outcome="delivered"} 1'), { timeoutMs: 3000, message: 'metric' });
  });
});

describe('failed-authentication rate limit', () => {
  it('answers 429 to a source after too many failed authentications, and never logs secrets', async () => {
    const limited = await startTestServer({ POSBRIDGE_AUTH_FAILURE_LIMIT: '3' });
    try {
      const wrong = { 'X-VTEX-API-AppKey': 'merchant-key', 'X-VTEX-API-AppToken': 'guess' };
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${limited.server.url}/payments`, { method: 'POST', headers: wrong, body: '{}' });
        statuses.push(res.status);
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      const text = JSON.stringify(limited.lines);
      expect(text).not.toContain('guess');
      expect(text).not.toContain('merchant-token');
    } finally {
      await limited.close();
    }
  });
});
