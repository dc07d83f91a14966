/**
 * The Test Suite virtual terminal end to end over loopback (docs/homologation.md): the real
 * server on SQLite on disk, real HTTP, a local callback receiver. VTEX's four suite card numbers
 * give their answers with no clerk and no agent (the two async ones by callback to the
 * callbackUrl as received), cancel / settle / refund of those payments answer with their ids,
 * every body is validated against the OpenAPI, and without the header or with the merchant's
 * mode off a request is an ordinary POS payment.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '@posbridge/testkit';
import { BOOTSTRAP_MERCHANT_ID } from '../ports/directory.ts';
import { AUTH_HEADERS, createPaymentBody, startCallbackReceiver, startTestServer, tempDir, type TestServer } from '../testing/helpers.ts';
import { expectPppContract } from '../testing/ppp-contract.ts';

const SUITE = { ...AUTH_HEADERS, 'x-vtex-api-is-testsuite': 'true' } as const;
const CARDS = { approved: '4444333322221111', denied: '4444333322221112', asyncApproved: '4222222222222224', asyncDenied: '4222222222222225' };

let t: TestServer & { dir: string };
let receiver: Awaited<ReturnType<typeof startCallbackReceiver>>;

beforeAll(async () => {
  t = await startTestServer({ POSBRIDGE_CALLBACK_ALLOW_HOSTS: '127.0.0.1' });
  receiver = await startCallbackReceiver();
});
afterAll(async () => {
  await t.close();
  await receiver.close();
});

async function setMode(on: boolean): Promise<void> {
  await t.server.store.setMerchantTestSuite({ merchantId: BOOTSTRAP_MERCHANT_ID, on, actor: 'test', at: Date.now() });
}

async function call(path: string, body: unknown, headers: Record<string, string> = SUITE) {
  const res = await fetch(`${t.server.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

/** A suite Create Payment with `card.number` as the suite sends it (the other card fields null). */
function suiteBody(paymentId: string, number: string | null, value = 31.9) {
  return createPaymentBody({
    paymentId,
    transactionId: `TX${paymentId}`,
    value,
    callbackUrl: `${receiver.url}/api/pvt/payment-provider/transactions/TX${paymentId}/payments/${paymentId}/callback?accountName=store&X-VTEX-signature=s1g`,
    card: { holder: 'John Doe', number, csc: '123', expiration: { month: '12', year: '2030' }, document: null, token: null },
  });
}

async function create(paymentId: string, number: string | null, headers: Record<string, string> = SUITE, value?: number) {
  const res = await call('/payments', suiteBody(paymentId, number, value), headers);
  expect(res.status).toBe(200);
  expectPppContract('/payments', 'post', 200, res.json);
  return res.json;
}

describe('Test Suite mode on: the virtual terminal', () => {
  beforeAll(() => setMode(true));

  it('4444333322221111: approved at once with tid/nsu/authorizationId; settle, refund and a cancel answer with their ids', async () => {
    const paymentId = 'VTAPPROVED1';
    const answer = await create(paymentId, CARDS.approved);
    expect(answer).toMatchObject({ paymentId, status: 'approved' });
    for (const f of ['tid', 'nsu', 'authorizationId']) expect(typeof answer[f], f).toBe('string');
    expect(answer['paymentAppData']).toBeUndefined();

    const settle = await call(`/payments/${paymentId}/settlements`, { paymentId, requestId: 'S1', value: 31.9, authorizationId: answer['authorizationId'], transactionId: `TX${paymentId}` });
    expect(settle.status).toBe(200);
    expectPppContract('/payments/{paymentId}/settlements', 'post', 200, settle.json);
    expect(typeof settle.json['settleId']).toBe('string');
    const refund = await call(`/payments/${paymentId}/refunds`, { paymentId, requestId: 'R1', value: 31.9, settleId: settle.json['settleId'], tid: answer['tid'], transactionId: `TX${paymentId}` });
    expect(refund.status).toBe(200);
    expectPppContract('/payments/{paymentId}/refunds', 'post', 200, refund.json);
    expect(typeof refund.json['refundId']).toBe('string');

    // The suite's Cancel case: another approved payment, cancelled (a void on the virtual terminal).
    const cancelId = 'VTCANCEL1';
    const approved = await create(cancelId, CARDS.approved);
    expect(approved['status']).toBe('approved');
    const cancel = await call(`/payments/${cancelId}/cancellations`, { paymentId: cancelId, requestId: 'C1', authorizationId: approved['authorizationId'], transactionId: `TX${cancelId}` });
    expect(cancel.status).toBe(200);
    expectPppContract('/payments/{paymentId}/cancellations', 'post', 200, cancel.json);
    expect(typeof cancel.json['cancellationId']).toBe('string');
    expect((await t.server.store.getPayment(cancelId))?.status).toBe('cancelled');

    // Visible as such: the payment's events name the virtual terminal, the logs say so.
    const events = await t.server.store.listPaymentEvents(paymentId);
    expect(JSON.stringify(events)).toContain(`VT-${BOOTSTRAP_MERCHANT_ID}`);
    expect(t.lines.some((l) => l['virtualTerminal'] === true && l['paymentId'] === paymentId)).toBe(true);
  });

  it('4444333322221112: denied at once', async () => {
    const answer = await create('VTDENIED1', CARDS.denied);
    expect(answer).toMatchObject({ paymentId: 'VTDENIED1', status: 'denied' });
  });

  it.each([
    ['4222222222222224', 'VTASYNCOK1', 'approved'],
    ['4222222222222225', 'VTASYNCNO1', 'denied'],
  ])('%s: undefined now, then a %s callback on the callbackUrl as received', async (number, paymentId, expected) => {
    const body = suiteBody(paymentId, number);
    const answer = await create(paymentId, number);
    expect(answer).toMatchObject({ paymentId, status: 'undefined' });
    const before = Date.now();
    await waitFor(() => receiver.received.some((c) => c.url.includes(`/payments/${paymentId}/`)), { timeoutMs: 15_000 });
    const callback = receiver.received.find((c) => c.url.includes(`/payments/${paymentId}/`))!;
    expect(Date.now() - before).toBeLessThan(15_000);
    expect(`${receiver.url}${callback.url}`).toBe(body['callbackUrl']);
    expect(JSON.parse(callback.body)).toMatchObject({ paymentId, status: expected });
    // The gateway's next Create Payment reads the final status.
    const final = await create(paymentId, number);
    expect(final['status']).toBe(expected);
    if (expected === 'approved') expect(typeof final['authorizationId']).toBe('string');
  }, 20_000);

  it('a cancel before an async answer aborts the sale: cancellationId, nothing charged, no late answer', async () => {
    const paymentId = 'VTASYNCCANCEL1';
    expect((await create(paymentId, CARDS.asyncApproved))['status']).toBe('undefined');
    const cancel = await call(`/payments/${paymentId}/cancellations`, { paymentId, requestId: 'C1', authorizationId: null, transactionId: `TX${paymentId}` });
    expect(cancel.status).toBe(200);
    expectPppContract('/payments/{paymentId}/cancellations', 'post', 200, cancel.json);
    expect(typeof cancel.json['cancellationId']).toBe('string');
    expect((await t.server.store.getPayment(paymentId))?.status).toBe('cancelled');
    await new Promise((r) => setTimeout(r, 3500));
    expect((await t.server.store.getPayment(paymentId))?.status).toBe('cancelled');
    expect(receiver.received.some((c) => c.url.includes(`/payments/${paymentId}/`))).toBe(false);
  }, 10_000);

  it('counts its answers in posbridge_virtual_terminal_answers_total', async () => {
    const text = await (await fetch(`${t.server.url}/metrics`)).text();
    expect(text).toMatch(/posbridge_virtual_terminal_answers_total\{kind="start",outcome="approved"\} [1-9]/);
    expect(text).toMatch(/posbridge_virtual_terminal_answers_total\{kind="void",outcome="approved"\} [1-9]/);
  });

  it('another number (or none): the simulator amount table (cents 05 declined, else approved)', async () => {
    expect((await create('VTAMOUNT1', '5555666677778884', SUITE, 12.05))['status']).toBe('denied');
    expect((await create('VTAMOUNT2', null, SUITE, 12.34))['status']).toBe('approved');
  });

  it('never stores or logs the card number', () => {
    const logs = JSON.stringify(t.lines);
    for (const n of Object.values(CARDS)) expect(logs).not.toContain(n);
    for (const f of readdirSync(t.dir).filter((name) => name.startsWith('db.sqlite'))) {
      const bytes = readFileSync(join(t.dir, f)).toString('latin1');
      for (const n of Object.values(CARDS)) expect(bytes, f).not.toContain(n);
    }
  });

  it('without the header: an ordinary POS payment awaiting a terminal', async () => {
    const answer = await create('VTNOHEADER1', CARDS.approved, AUTH_HEADERS);
    expect(answer['status']).toBe('undefined');
    expect(answer['paymentAppData']).toBeDefined();
    const p = await t.server.store.getPayment('VTNOHEADER1');
    expect(p).toMatchObject({ status: 'awaiting_terminal', binding: null, testSuite: false });
  });
});

describe('Test Suite mode off', () => {
  beforeAll(() => setMode(false));

  it('a suite request is an ordinary POS payment: nothing reaches the virtual terminal', async () => {
    const answer = await create('VTOFF1', CARDS.approved);
    expect(answer['status']).toBe('undefined');
    expect(answer['paymentAppData']).toBeDefined();
    expect(await t.server.store.getPayment('VTOFF1')).toMatchObject({ status: 'awaiting_terminal', binding: null, testSuite: true });
    // Not even later: the virtual agent polls only merchants in Test Suite mode.
    await new Promise((r) => setTimeout(r, 1200));
    expect(await t.server.store.getPayment('VTOFF1')).toMatchObject({ status: 'awaiting_terminal', binding: null });
    expect(await t.server.store.listCommands('VTOFF1')).toEqual([]);
  });

  it('turning the mode off stops the answers of a pending async suite payment; turning it on again answers it', async () => {
    await setMode(true);
    const paymentId = 'VTOFFLATE1';
    expect((await create(paymentId, CARDS.asyncApproved))['status']).toBe('undefined');
    await setMode(false);
    // Past the 3 s async delay and several 1 s polls: the open row of an off merchant is not answered.
    await new Promise((r) => setTimeout(r, 4500));
    expect((await t.server.store.getPayment(paymentId))?.status).toBe('dispatched');
    expect((await t.server.store.listCommands(paymentId)).map((c) => c.status)).toEqual(['open']);
    expect(receiver.received.some((c) => c.url.includes(`/payments/${paymentId}/`))).toBe(false);
    await setMode(true);
    try {
      await waitFor(async () => (await t.server.store.getPayment(paymentId))?.status === 'approved', { timeoutMs: 5000 });
    } finally {
      await setMode(false);
    }
  }, 15_000);
});

describe('a restart before an async answer', () => {
  it('loses nothing: the open start row is answered by the next process and the callback sent', async () => {
    const tmp = tempDir();
    const cb = await startCallbackReceiver();
    try {
      const first = await startTestServer({ POSBRIDGE_CALLBACK_ALLOW_HOSTS: '127.0.0.1' }, tmp.dir);
      await first.server.store.setMerchantTestSuite({ merchantId: BOOTSTRAP_MERCHANT_ID, on: true, actor: 'test', at: Date.now() });
      const paymentId = 'VTRESTART1';
      const callbackUrl = `${cb.url}/cb/${paymentId}`;
      const res = await fetch(`${first.server.url}/payments`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...SUITE },
        body: JSON.stringify({ ...suiteBody(paymentId, CARDS.asyncApproved), callbackUrl }),
      });
      expect(((await res.json()) as Record<string, unknown>)['status']).toBe('undefined');
      await first.close(); // before the answer was due
      expect(cb.received).toHaveLength(0);

      const second = await startTestServer({ POSBRIDGE_CALLBACK_ALLOW_HOSTS: '127.0.0.1' }, tmp.dir);
      try {
        await waitFor(() => cb.received.length > 0, { timeoutMs: 15_000 });
        expect(cb.received[0]).toMatchObject({ method: 'POST', url: `/cb/${paymentId}` });
        expect(JSON.parse(cb.received[0]!.body)).toMatchObject({ paymentId, status: 'approved' });
      } finally {
        await second.close();
      }
    } finally {
      await cb.close();
      tmp.cleanup();
    }
  }, 25_000);
});

