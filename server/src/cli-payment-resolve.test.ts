/**
 * `posbridge-server payment resolve` (issue 10 item 5): the CLI binary, run next to a running
 * server on the same SQLite file, resolves an `unknown` payment; the decision is in the payment's
 * events (who, when, why) and the running server delivers the callback it enqueued.
 */
import { execFile } from 'node:child_process';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { waitFor, SOURCE_NODE_ARGS } from '@posbridge/testkit';
import { PROTOCOL_VERSION, type ServerMessage } from '@posbridge/protocol/ws';
import {
  AUTH_HEADERS,
  connectAgent,
  createPaymentBody,
  nextId,
  startCallbackReceiver,
  startTestServer,
  tempDir,
  testEnv,
  type TestAgent,
  type TestServer,
  isServerMessage,
} from './testing/helpers.ts';

const exec = promisify(execFile);
/** Runs a bin with its TypeScript sources (`--conditions=@posbridge/source` + tsx, docs/adr/0004). */
const run = (bin: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Promise<{ stdout: string; stderr: string }> =>
  exec(process.execPath, [...SOURCE_NODE_ARGS, bin, ...args], { ...options, encoding: 'utf8' });
const BIN = fileURLToPath(new URL('../bin/posbridge-server.js', import.meta.url));
type Start = Extract<ServerMessage, { type: 'payment.start' }>;
type OpStart = Extract<ServerMessage, { type: 'operation.start' }>;
const isStart = isServerMessage('payment.start');
const isOp = isServerMessage('operation.start');

let tmp: ReturnType<typeof tempDir>;
let t: TestServer;
let agent: TestAgent;
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;
let env: Record<string, string>;

beforeEach(async () => {
  tmp = tempDir();
  t = await startTestServer({}, tmp.dir);
  receiver = await startCallbackReceiver();
  agent = await connectAgent(t.server.url, (await t.server.issueAgentToken('desk')).token);
  await agent.hello(['SN1']);
  env = { ...testEnv(join(tmp.dir, 'db.sqlite')), PATH: process.env['PATH'] ?? '', LOG_LEVEL: 'warn' };
});
afterEach(async () => {
  await agent.close();
  await t.close();
  await receiver.close();
  tmp.cleanup();
});

/** A payment the agent reported `unknown`. */
async function unknownPayment(paymentId: string): Promise<void> {
  const created = await t.createPayment(createPaymentBody({ paymentId, callbackUrl: `${receiver.url}/cb/${paymentId}` }));
  const urls = JSON.parse((created.json['paymentAppData'] as { payload: string }).payload) as Record<string, string>;
  await fetch(urls['submitUrl']!, { method: 'POST', body: JSON.stringify({ serialNumber: 'SN1' }), headers: { 'Content-Type': 'application/json' } });
  const start = await agent.waitForMessage((m): m is Start => isStart(m) && m.paymentId === paymentId);
  agent.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: start.id });
  agent.send({
    v: PROTOCOL_VERSION, id: nextId(), type: 'payment.result', paymentId, outcome: 'unknown',
    amount: { amountMinor: 3190, currency: 'BRL' }, terminalRef: `ref-${paymentId}`, message: 'outcome unknown: no answer',
  });
  await waitFor(async () => (await t.server.store.getPayment(paymentId))?.status === 'unknown', { timeoutMs: 5000, message: 'unknown' });
}

/** VTEX's cancellation of `paymentId`. */
async function cancel(paymentId: string, requestId: string): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(`${t.server.url}/payments/${paymentId}/cancellations`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...AUTH_HEADERS },
    body: JSON.stringify({ paymentId, requestId, authorizationId: 'AUTH1', transactionId: 'TX1' }),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** An approved payment VTEX cancelled, whose void the agent answered `unknown`. */
async function unknownReversal(paymentId: string): Promise<void> {
  const created = await t.createPayment(createPaymentBody({ paymentId, callbackUrl: `${receiver.url}/cb/${paymentId}` }));
  const urls = JSON.parse((created.json['paymentAppData'] as { payload: string }).payload) as Record<string, string>;
  await fetch(urls['submitUrl']!, { method: 'POST', body: JSON.stringify({ serialNumber: 'SN1' }), headers: { 'Content-Type': 'application/json' } });
  const start = await agent.waitForMessage((m): m is Start => isStart(m) && m.paymentId === paymentId);
  agent.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: start.id });
  agent.send({
    v: PROTOCOL_VERSION, id: nextId(), type: 'payment.result', paymentId, outcome: 'approved', authorizationId: 'AUTH1', nsu: '42',
    card: { brand: 'Visa', firstDigits: '411111', lastDigits: '1111' }, amount: { amountMinor: 3190, currency: 'BRL' }, terminalRef: `ref-${paymentId}`,
  });
  await waitFor(async () => (await t.server.store.getPayment(paymentId))?.status === 'approved', { timeoutMs: 5000, message: 'approved' });
  const pending = cancel(paymentId, 'C1');
  const op = await agent.waitForMessage((m): m is OpStart => isOp(m) && m.paymentId === paymentId);
  agent.send({
    v: PROTOCOL_VERSION, id: nextId(), type: 'operation.result', operationId: op.operationId, paymentId, kind: 'void',
    outcome: 'unknown', amount: op.amount, terminalRef: `void-${paymentId}`,
  });
  expect((await pending).json['code']).toBe('PPP_OUTCOME_UNKNOWN');
  expect((await t.server.store.getPayment(paymentId))?.status).toBe('reversal_unknown');
}

describe('posbridge-server payment resolve', () => {
  it('is in --help', async () => {
    const { stdout } = await run(BIN, ['--help']);
    expect(stdout).toContain('payment resolve <paymentId> --outcome approved|denied --reason TEXT');
    expect(stdout).toContain('--operator NAME');
    expect(stdout).toContain('operation resolve <operationId> --outcome approved|denied --reason TEXT');
  }, 20_000);

  it('resolves an unknown payment next to the running server: events record who/when/why, the callback is delivered', async () => {
    await unknownPayment('CLI1');
    const before = Date.now();
    const { stdout } = await run(BIN, ['payment', 'resolve', 'CLI1', '--outcome', 'approved', '--reason', 'receipt 000123 approved', '--authorization', 'RCPT-9'], { env });
    expect(stdout).toMatch(/payment resolved[\s\S]*status:\s+approved[\s\S]*callback:\s+enqueued/);
    const event = (await t.server.store.listPaymentEvents('CLI1')).at(-1);
    expect(event).toMatchObject({
      type: 'operator.resolved',
      fromStatus: 'unknown',
      toStatus: 'approved',
      data: { outcome: 'approved', authorizationId: 'RCPT-9', operator: userInfo().username, reason: 'receipt 000123 approved' },
    });
    expect(event!.at).toBeGreaterThanOrEqual(before);
    const cb = await waitFor(() => receiver.received.find((r) => r.url === '/cb/CLI1'), { timeoutMs: 5000, message: 'callback from the running server' });
    expect(JSON.parse(cb.body)).toMatchObject({ paymentId: 'CLI1', status: 'approved', authorizationId: 'RCPT-9' });
    expect((await t.createPayment(createPaymentBody({ paymentId: 'CLI1' }))).json).toMatchObject({ status: 'approved' });

    // Again: the payment is no longer unknown.
    const again = await run(BIN, ['payment', 'resolve', 'CLI1', '--outcome', 'denied', '--reason', 'oops', '--operator', 'bob'], { env }).catch((e: unknown) => e);
    expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining('ADMIN_RESOLVE_REFUSED') });
  }, 30_000);

  it('takes --operator, and refuses bad usage with exit 2 without touching the payment', async () => {
    await unknownPayment('CLI2');
    for (const args of [
      ['payment', 'resolve', 'CLI2', '--outcome', 'maybe', '--reason', 'x'],
      ['payment', 'resolve', 'CLI2', '--outcome', 'denied'],
      ['payment', 'resolve', 'CLI2', '--outcome', 'denied', '--reason', 'x', '--authorization', 'A1'],
      ['payment', 'resolve', '--outcome', 'denied', '--reason', 'x'],
    ]) {
      expect(await run(BIN, args, { env }).catch((e: unknown) => e)).toMatchObject({ code: 2 });
    }
    expect((await t.server.store.getPayment('CLI2'))?.status).toBe('unknown');
    await run(BIN, ['payment', 'resolve', 'CLI2', '--outcome', 'denied', '--reason', 'no sale in the journal', '--operator', 'carol'], { env });
    expect((await t.server.store.listPaymentEvents('CLI2')).at(-1)).toMatchObject({ data: { operator: 'carol', outcome: 'denied' } });
    const cb = await waitFor(() => receiver.received.find((r) => r.url === '/cb/CLI2'), { timeoutMs: 5000, message: 'callback' });
    expect(JSON.parse(cb.body)).toMatchObject({ status: 'denied' });
  }, 30_000);

  it('resolves a reversal whose outcome is unknown: denied = the void went through (cancelled), the approval kept, audited', async () => {
    await unknownReversal('CLI3');
    const { stdout } = await run(BIN, ['payment', 'resolve', 'CLI3', '--outcome', 'denied', '--reason', 'void 0042 on the journal', '--operator', 'erin'], { env });
    expect(stdout).toMatch(/payment resolved[\s\S]*status:\s+cancelled/);
    expect((await t.server.store.listPaymentEvents('CLI3')).at(-1)).toMatchObject({
      type: 'operator.resolved', fromStatus: 'reversal_unknown', toStatus: 'cancelled',
      data: { outcome: 'denied', operator: 'erin', reason: 'void 0042 on the journal' },
    });
    expect((await t.server.store.getPayment('CLI3'))?.outcome).toMatchObject({
      outcome: 'approved', authorizationId: 'AUTH1', nsu: '42', card: { brand: 'Visa', firstDigits: '411111', lastDigits: '1111' },
    });
    expect(await cancel('CLI3', 'C1')).toMatchObject({ status: 200, json: { message: 'cancelled; the approval was reversed on the terminal' } });
  }, 30_000);

  it('resolves a reversal whose outcome is unknown: approved = still charged, the cancellation answered cancel-manually', async () => {
    await unknownReversal('CLI4');
    await run(BIN, ['payment', 'resolve', 'CLI4', '--outcome', 'approved', '--reason', 'no void on the journal', '--operator', 'erin'], { env });
    expect((await t.server.store.getPayment('CLI4'))).toMatchObject({ status: 'approved', outcome: { authorizationId: 'AUTH1', nsu: '42' } });
    expect(await cancel('CLI4', 'C1')).toMatchObject({ status: 501, json: { code: 'cancel-manually' } });
  }, 30_000);

  it('operation resolve settles a refund whose outcome is unknown: audited in the payment events, VTEX\'s retry gets the decided answer', async () => {
    const paymentId = 'CLI5';
    const created = await t.createPayment(createPaymentBody({ paymentId, callbackUrl: `${receiver.url}/cb/${paymentId}` }));
    const urls = JSON.parse((created.json['paymentAppData'] as { payload: string }).payload) as Record<string, string>;
    await fetch(urls['submitUrl']!, { method: 'POST', body: JSON.stringify({ serialNumber: 'SN1' }), headers: { 'Content-Type': 'application/json' } });
    const start = await agent.waitForMessage((m): m is Start => isStart(m) && m.paymentId === paymentId);
    agent.send({ v: PROTOCOL_VERSION, id: nextId(), type: 'ack', ackOf: start.id });
    agent.send({
      v: PROTOCOL_VERSION, id: nextId(), type: 'payment.result', paymentId, outcome: 'approved', authorizationId: 'AUTH1',
      amount: { amountMinor: 3190, currency: 'BRL' }, terminalRef: `ref-${paymentId}`,
    });
    await waitFor(async () => (await t.server.store.getPayment(paymentId))?.status === 'approved', { timeoutMs: 5000, message: 'approved' });
    const post = async (route: string, body: Record<string, unknown>) => {
      const res = await fetch(`${t.server.url}/payments/${paymentId}/${route}`, {
        method: 'POST', headers: { 'Content-Type': 'application/json', Accept: 'application/json', ...AUTH_HEADERS }, body: JSON.stringify(body),
      });
      return { status: res.status, json: (await res.json()) as Record<string, unknown> };
    };
    expect((await post('settlements', { paymentId, requestId: 'S1', value: 31.9, authorizationId: 'AUTH1', transactionId: 'TX1' })).status).toBe(200);
    const refund = { paymentId, requestId: 'R1', value: 31.9, settleId: 'se', tid: 'pb', transactionId: 'TX1' };
    const pending = post('refunds', refund);
    const op = await agent.waitForMessage((m): m is OpStart => isOp(m) && m.paymentId === paymentId && m.kind === 'refund');
    agent.send({
      v: PROTOCOL_VERSION, id: nextId(), type: 'operation.result', operationId: op.operationId, paymentId, kind: 'refund',
      outcome: 'unknown', amount: op.amount, terminalRef: 'rf-1',
    });
    expect((await pending).json['code']).toBe('PPP_OUTCOME_UNKNOWN');

    expect(await run(BIN, ['operation', 'resolve', op.operationId, '--outcome', 'approved', '--reason', 'x', '--authorization', 'A1'], { env }).catch((e: unknown) => e)).toMatchObject({ code: 2 });
    const { stdout } = await run(BIN, ['operation', 'resolve', op.operationId, '--outcome', 'approved', '--reason', 'refund 0077 on the journal', '--operator', 'erin'], { env });
    expect(stdout).toMatch(/operation resolved[\s\S]*status:\s+approved/);
    expect((await t.server.store.listPaymentEvents(paymentId)).at(-1)).toMatchObject({
      type: 'operation.resolved', data: { operationId: op.operationId, kind: 'refund', outcome: 'approved', operator: 'erin', reason: 'refund 0077 on the journal' },
    });
    expect(await post('refunds', refund)).toMatchObject({ status: 200, json: { refundId: op.operationId } });
    const again = await run(BIN, ['operation', 'resolve', op.operationId, '--outcome', 'denied', '--reason', 'oops', '--operator', 'erin'], { env }).catch((e: unknown) => e);
    expect(again).toMatchObject({ code: 1, stderr: expect.stringContaining('ADMIN_RESOLVE_REFUSED') });
  }, 30_000);
});
